-- affirming.lua: a strict resource policy (docs/policies.md), like
-- Trustee's affirming.rego: allow only when the token has at least one
-- appraisal and EVERY appraisal's ear.status is "affirming" (no warning).
-- Upload it as the resource policy (docs/policies.md, "Managing").

return function(claims, request)
	local _ = request
	local submods = type(claims) == "table" and claims.submods or nil

	if type(submods) ~= "table" or next(submods) == nil then
		return false, "the token carries no appraisal (submods)"
	end
	local names = {}
	for name in pairs(submods) do
		names[#names + 1] = tostring(name)
	end
	table.sort(names)
	for _, name in ipairs(names) do
		local app = submods[name]
		local status = type(app) == "table" and app["ear.status"] or nil
		if status ~= "affirming" then
			return false, "appraisal " .. name .. " is " ..
			    tostring(status) .. ", not affirming"
		end
	end
	return true, "every appraisal is affirming (" ..
	    table.concat(names, ", ") .. ")"
end
