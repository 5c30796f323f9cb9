-- example_init_data.lua: an EXAMPLE resource policy (docs/policies.md)
-- that releases secrets only to workloads started with a known init-data
-- document. Copy it, put your own values in EXPECTED, upload it as the
-- resource policy.
--
-- The init-data digest a TEE reports is hoisted to the top of each
-- appraisal's annotated evidence as "init_data" (hex for snp/tdx/sgx/
-- az-*/tpm, base64 for sample; reference/attestation-service.md §0), and
-- the parsed document, when the guest sent it, as "init_data_claims"
-- ("cdh.toml" and "aa.toml" already converted to tables).

-- What this workload's init-data must be. Compute the digest with
-- trusteectl (or sha256sum of the exact TOML bytes), hex, lowercase.
local EXPECTED = {
	init_data = "0123456789abcdef0123456789abcdef" ..
	    "0123456789abcdef0123456789abcdef",
	-- optional: the KBS URL the guest's CDH was configured with
	kbs_url = "https://trustee.example.com:8080",
}

local function tbl(x)
	if type(x) == "table" then
		return x
	end
	return {}
end

return function(claims, request)
	if tbl(request).plugin ~= "resource" then
		return false, "only the resource plugin is served"
	end
	local cpu0 = tbl(tbl(tbl(claims).submods).cpu0)
	local status = cpu0["ear.status"]
	if status ~= "affirming" and status ~= "warning" then
		return false, "cpu0 is " .. tostring(status)
	end

	local ev = tbl(cpu0["ear.veraison.annotated-evidence"])
	-- The sample TEE reports base64; normalize to hex for the compare.
	local got = ev.init_data
	if ev.sample ~= nil and type(got) == "string" then
		got = trustee.hex(trustee.unb64(got) or "")
	end
	if got ~= EXPECTED.init_data then
		trustee.log("init_data mismatch:", tostring(got))
		return false, "init-data digest " .. tostring(got) ..
		    " is not the one this policy expects"
	end

	-- Optionally also look inside the document the guest sent.
	local cdh = tbl(tbl(ev.init_data_claims)["cdh.toml"])
	local url = tbl(cdh.kbc).url
	if EXPECTED.kbs_url ~= nil and url ~= EXPECTED.kbs_url then
		return false, "init-data points the guest at " .. tostring(url)
	end
	return true, "init-data matches (" .. EXPECTED.init_data:sub(1, 12) ..
	    "...)"
end
