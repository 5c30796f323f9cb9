-- allow_all.lua: a development resource policy ([policy] resource =
-- "allow_all", what --dev seeds; docs/policies.md).
--
-- Like Trustee's allow_all.rego: any holder of a valid token from this
-- server (any TEE, including sample, whatever its ear.status) gets any
-- resource of the "resource" plugin. Other plugins are denied despite the
-- name. Never use this in production.

return function(claims, request)
	local _ = claims
	local plugin = type(request) == "table" and request.plugin or nil

	if plugin ~= "resource" then
		return false, "allow_all serves only the resource plugin (not " ..
		    tostring(plugin) .. ")"
	end
	return true, "allowed by allow_all (development policy: no claim " ..
	    "is checked)"
end
