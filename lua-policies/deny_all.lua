-- deny_all.lua: refuses every request ([policy] resource = "deny_all";
-- docs/policies.md). Useful to freeze a deployment: attestation still
-- works, no secret leaves.

return function(claims, request)
	local _ = claims and request
	return false, "the deny_all resource policy refuses every request"
end
