-- default_gpu.lua: the default attestation policy for GPU devices
-- ("default_gpu"; docs/policies.md, docs/devices.md).
--
-- Defaults as for CPUs: executables 33, hardware 97, configuration 36; the
-- rules below raise them from reference values (RVs). An absent, expired
-- or revoked RV makes its rule not apply.
--
--  * sampledevice (tests, no hardware): hardware 2 when the device's svn
--    is in RV("device_svn") - Trustee's rule, except that Trustee reads
--    it from a data document its policies never receive, so there it
--    never holds. The sample device has nothing else to appraise: with
--    the RV the device is "warning" (executables 33, configuration 36),
--    without it "contraindicated".
--  * nvidia, verified locally (claims arch, uuid, measurements, config):
--      hardware 2      config.vbios_version in RV("allowed_vbios_versions")
--      executables 2   config.driver_version in RV("allowed_driver_versions")
--                      and the measurements match RV("nvidia_gpu_measurements"),
--                      an object {"<SPDM index>": ["<hex>", ...] or "<hex>"}:
--                      every index it names must be in the report with one
--                      of its values (NVIDIA's golden measurements from the
--                      driver and VBIOS RIMs); it must name at least one
--      configuration 2 when both hold.
--  * nvidia, verified by NRAS (claims "x-nvidia-*"): hardware 2 when the
--    report verified ("x-nvidia-overall-att-result" is not false) and the
--    VBIOS version ("x-nvidia-gpu-vbios-version") is in
--    RV("allowed_vbios_versions"); executables 2 when the driver version
--    ("x-nvidia-gpu-driver-version") is in RV("allowed_driver_versions")
--    (NRAS compared the measurements); configuration 2 when both hold.
-- Versions are compared as the verifier writes them (the local verifier:
-- "580.95.05", "96.00.74.00.1a" in lowercase hex).

local rv, contains = trustee.rv, trustee.contains

local EMPTY = {}

local function tbl(x)
	if type(x) == "table" then
		return x
	end
	return EMPTY
end

local function one_of(x, name)
	return x ~= nil and contains(rv(name), x)
end

-- Every index of RV("nvidia_gpu_measurements") is in the report with an
-- accepted value (a list of hex strings, or one).
local function measurements_match(measurements)
	local golden = rv("nvidia_gpu_measurements")
	local n = 0

	if type(golden) ~= "table" or type(measurements) ~= "table" then
		return false
	end
	for index, want in pairs(golden) do
		local got = measurements[index]
		local ok = false

		if type(index) ~= "string" or type(got) ~= "string" then
			return false
		end
		if type(want) == "string" then
			want = { want }
		end
		for _, w in ipairs(tbl(want)) do
			if type(w) == "string" and
			    string.lower(w) == string.lower(got) then
				ok = true
			end
		end
		if not ok then
			return false
		end
		n = n + 1
	end
	return n > 0
end

local function nvidia(c, v)
	local cfg = tbl(c.config)
	local local_claims = c.measurements ~= nil
	local vbios = c["x-nvidia-gpu-vbios-version"] or cfg.vbios_version
	local driver = c["x-nvidia-gpu-driver-version"] or cfg.driver_version
	local verified = c["x-nvidia-overall-att-result"] ~= false

	if verified and one_of(vbios, "allowed_vbios_versions") then
		v.hardware = 2
	end
	if one_of(driver, "allowed_driver_versions") and
	    (not local_claims or measurements_match(c.measurements)) then
		v.executables = 2
	end
	if v.hardware == 2 and v.executables == 2 then
		v.configuration = 2
	end
end

local function sampledevice(c, v)
	if one_of(c.svn, "device_svn") then
		v.hardware = 2
	end
end

return function(input)
	local v = {
		["instance-identity"] = 0,
		configuration = 36,
		executables = 33,
		["file-system"] = 0,
		hardware = 97,
		["runtime-opaque"] = 0,
		["storage-opaque"] = 0,
		["sourced-data"] = 0,
	}

	if type(input.nvidia) == "table" then
		nvidia(input.nvidia, v)
	end
	if type(input.sampledevice) == "table" then
		sampledevice(input.sampledevice, v)
	end
	return { trust_vector = v }
end
