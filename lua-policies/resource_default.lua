-- resource_default.lua: the production resource policy ([policy]
-- resource = "default"; docs/policies.md).
--
-- A request is allowed when ALL of these hold, and denied with the first
-- reason that fails otherwise:
--   1. the plugin is "resource" (GET /kbs/v0/resource/<repo>/<type>/<tag>);
--   2. the token carries at least one appraisal (claims.submods);
--   3. no appraisal is of the sample TEE (its annotated evidence has no
--      "sample" member): sample evidence is unsigned and proves nothing;
--   4. every appraisal's ear.status is "affirming" or "warning": a
--      "contraindicated" appraisal is refused, and so is "none" (the
--      attestation policy made no claim at all) or a missing status.
--
-- So out of the box a real TEE gets secrets only once the reference
-- values its attestation policy checks are registered: without them the
-- default CPU policy reports hardware 97 (contraindicated).

local function contraindicated_claims(app)
	local bad = {}
	local tv = app["ear.trustworthiness-vector"]

	if type(tv) == "table" then
		for name, value in pairs(tv) do
			if math.type(value) == "integer" and
			    (value >= 96 or value <= -97) then
				bad[#bad + 1] = tostring(name) .. " " .. value
			end
		end
	end
	table.sort(bad)
	return table.concat(bad, ", ")
end

return function(claims, request)
	local plugin = type(request) == "table" and request.plugin or nil

	if plugin ~= "resource" then
		return false, "the default resource policy serves only the " ..
		    "resource plugin (not " .. tostring(plugin) .. ")"
	end
	local submods = type(claims) == "table" and claims.submods or nil
	if type(submods) ~= "table" or next(submods) == nil then
		return false, "the token carries no appraisal (submods)"
	end

	local names = {}
	for name in pairs(submods) do
		names[#names + 1] = tostring(name)
	end
	table.sort(names)

	local seen = {}
	for _, name in ipairs(names) do
		local app = submods[name]
		if type(app) ~= "table" then
			return false, "appraisal " .. name .. " is malformed"
		end
		local ev = app["ear.veraison.annotated-evidence"]
		if type(ev) == "table" and ev.sample ~= nil then
			return false, "the sample TEE proves nothing about the " ..
			    "platform: the default resource policy refuses it " ..
			    "(appraisal " .. name .. ")"
		end
		local status = app["ear.status"]
		if status == "contraindicated" then
			local why = contraindicated_claims(app)
			return false, "appraisal " .. name .. " is contraindicated" ..
			    (why ~= "" and " (" .. why .. ")" or "")
		end
		if status ~= "affirming" and status ~= "warning" then
			return false, "appraisal " .. name .. " has ear.status " ..
			    tostring(status) .. "; affirming or warning is required"
		end
		seen[#seen + 1] = name .. " " .. status
	end
	return true, "allowed by the default resource policy (" ..
	    table.concat(seen, ", ") .. ")"
end
