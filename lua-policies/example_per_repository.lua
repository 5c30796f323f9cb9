-- example_per_repository.lua: an EXAMPLE resource policy
-- (docs/policies.md) with one rule per repository, the first segment of
-- /kbs/v0/resource/<repository>/<type>/<tag>. Copy it, edit RULES,
-- upload it as the resource policy.

-- The TEE of an appraisal: the member of its annotated evidence that is
-- not one of the hoisted fields.
local HOISTED = { report_data = true, runtime_data_claims = true,
	init_data = true, init_data_claims = true }

local function tee_of(app)
	local ev = app["ear.veraison.annotated-evidence"]
	if type(ev) == "table" then
		for k in pairs(ev) do
			if not HOISTED[k] then
				return k
			end
		end
	end
	return nil
end

-- Every appraisal has one of the allowed statuses (and there is one).
local function all_status(claims, allowed)
	local submods = type(claims) == "table" and claims.submods or nil
	if type(submods) ~= "table" or next(submods) == nil then
		return false, "no appraisal in the token"
	end
	for name, app in pairs(submods) do
		local st = type(app) == "table" and app["ear.status"] or nil
		if not allowed[st] then
			return false, tostring(name) .. " is " .. tostring(st)
		end
	end
	return true
end

local RULES = {
	-- Shared, low-value configuration: anything attested and not
	-- contraindicated, real hardware only.
	public = function(claims, cpu0)
		if tee_of(cpu0) == "sample" then
			return false, "sample TEE refused"
		end
		return all_status(claims, { affirming = true, warning = true })
	end,

	-- Production keys: affirming SNP or TDX only.
	prod = function(claims, cpu0)
		local tee = tee_of(cpu0)
		if tee ~= "snp" and tee ~= "tdx" then
			return false, "prod secrets need snp or tdx, not " ..
			    tostring(tee)
		end
		return all_status(claims, { affirming = true })
	end,

	-- Test fixtures: the sample TEE too, but only the "fixtures" type.
	test = function(claims, _, path)
		if path[2] ~= "fixtures" then
			return false, "only test/fixtures/* is released"
		end
		return all_status(claims, { affirming = true, warning = true,
		    contraindicated = true })
	end,
}

return function(claims, request)
	if type(request) ~= "table" or request.plugin ~= "resource" then
		return false, "only the resource plugin is served"
	end
	local path = request["resource-path"] or {}
	local repo = path[1]
	local rule = RULES[repo]
	if rule == nil then
		return false, "no rule for repository " .. tostring(repo)
	end
	local cpu0 = type(claims) == "table" and type(claims.submods) ==
	    "table" and claims.submods.cpu0 or {}
	local ok, why = rule(claims, type(cpu0) == "table" and cpu0 or {},
	    path, request.query or {})
	if not ok then
		return false, "repository " .. repo .. ": " .. tostring(why)
	end
	return true, "repository " .. repo .. ": rule satisfied"
end
