-- default_gpu.lua: the default attestation policy for GPU devices
-- ("default_gpu"; docs/policies.md).
--
-- Trustee's default GPU policy (reference/attestation-service.md §4) is
-- only sketched by the reference; this file follows it as far as it goes:
--
--  * sampledevice: Trustee checks `svn in data.reference.device_svn`, but
--    its policies get no data document, so the rule never holds and a
--    sampledevice never gets past the defaults. Same here. (To accept a
--    sample device on purpose, upload a policy that uses
--    one_of(c.svn, "device_svn") instead.)
--  * nvidia: the device's report must have verified (NRAS'
--    "x-nvidia-overall-att-result" must not be false) and its VBIOS
--    version be in RV("allowed_vbios_versions") for hardware 2; the
--    driver version in RV("allowed_driver_versions") gives executables 2;
--    configuration 2 when both hold (nothing else in the claims describes
--    the device configuration). The versions are read from NRAS claims
--    ("x-nvidia-gpu-vbios-version", "x-nvidia-gpu-driver-version") or, for
--    the local verifier, from config.vbios_version / config.driver_version.
--
-- Defaults as for CPUs: executables 33, hardware 97, configuration 36.

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

local function nvidia(c, v)
	local cfg = tbl(c.config)
	local vbios = c["x-nvidia-gpu-vbios-version"] or cfg.vbios_version
	local driver = c["x-nvidia-gpu-driver-version"] or cfg.driver_version
	local verified = c["x-nvidia-overall-att-result"] ~= false

	if verified and one_of(vbios, "allowed_vbios_versions") then
		v.hardware = 2
	end
	if one_of(driver, "allowed_driver_versions") then
		v.executables = 2
	end
	if v.hardware == 2 and v.executables == 2 then
		v.configuration = 2
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
	-- input.sampledevice: no rule can hold (see above): the defaults.
	return { trust_vector = v }
end
