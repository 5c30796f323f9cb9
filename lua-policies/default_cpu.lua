-- default_cpu.lua: the default attestation policy for CPU TEEs
-- ("default_cpu"; docs/policies.md).
--
-- It makes the same decisions as Trustee's default CPU policy
-- (ear_default_policy_cpu.rego, reference/attestation-service.md §2, §4):
-- the same defaults, the same claims compared with the same reference
-- values, for sample, snp, tdx, sgx, az-snp-vtpm, az-tdx-vtpm, tpm and se
-- (cca and csv have no rules there either, so they get the defaults).
--
-- Reading guide. rv(name) is the reference value registered under name
-- (nil when absent, expired or revoked). Where the Rego says
--   x in query_reference_value("n")   this file says   one_of(x, "n")
--   x == query_reference_value("n")                     is(x, "n")
-- Like Rego, a missing claim or reference value makes a rule not apply,
-- so the claim keeps its default.
--
-- Input: the annotated evidence {"<tee>": {claims}, "report_data",
-- "runtime_data_claims", "init_data", "init_data_claims"}.
-- Result: the AR4SI trust vector plus the extension
-- "ear.trustee.identifiers" (container images and UIDs from the Kata agent
-- policy carried in init-data).

local rv, contains, equal = trustee.rv, trustee.contains, trustee.equal

local EMPTY = {}

-- x if it is a table, else an empty table (safe to index).
local function tbl(x)
	if type(x) == "table" then
		return x
	end
	return EMPTY
end

-- Rego: x in RV(name)
local function one_of(x, name)
	return x ~= nil and contains(rv(name), x)
end

-- Rego: x == RV(name)
local function is(x, name)
	local r = rv(name)
	return x ~= nil and r ~= nil and equal(x, r)
end

-- A TPM PCR claim: {"tpm": {"pcr11": ...}} or {"tpm.pcr11": ...}.
local function pcr(c, name)
	local t = c.tpm
	if type(t) == "table" then
		return t[name]
	end
	return c["tpm." .. name]
end

local INTEL_QE_VENDOR = "939a7233f79c4ca9940a0db3957f0607"

local appraise = {}

-- The sample TEE (tests): executables 3 when the launch digest is
-- registered; hardware 2 when svn, major version and minimum minor version
-- match; configuration 2 when debug is off.
function appraise.sample(c, v)
	local pv = tbl(c.platform_version)
	local min_minor = rv("minimum_minor_version")

	if one_of(c.launch_digest, "launch_digest") then
		v.executables = 3
	end
	if one_of(c.svn, "svn") and is(pv.major, "major_version") and
	    math.type(pv.minor) ~= nil and math.type(min_minor) ~= nil and
	    pv.minor >= min_minor then
		v.hardware = 2
	end
	if c.debug == false then
		v.configuration = 2
	end
end

-- The VMPL an SNP report came from. Trustee's verifier refuses a report
-- not from VMPL 0; here the verifier reports "vmpl" as a claim and this
-- policy decides, with the same outcome by default: VMPL 0 only, and any
-- other VMPL refuses the attestation. A deployment whose guests run behind
-- an SVSM (e.g. COCONUT-SVSM: the vTPM at VMPL 0, the guest OS at a higher
-- VMPL) registers the VMPLs it admits as the reference value "snp_vmpl"
-- (a number or a list, e.g. [2]); it then replaces the default {0}.
local function snp_vmpl(c)
	local allowed = rv("snp_vmpl")
	local vmpl, ok

	if type(c.vmpl) == "number" or type(c.vmpl) == "string" then
		vmpl = math.tointeger(tonumber(c.vmpl))
	end

	if allowed == nil then
		ok = vmpl == 0
	elseif type(allowed) == "table" then
		ok = vmpl ~= nil and contains(allowed, vmpl)
	else
		ok = vmpl ~= nil and equal(allowed, vmpl)
	end
	if not ok then
		error(string.format("the SNP report comes from VMPL %s, which "
		    .. "this policy does not admit (VMPL 0 only, unless the "
		    .. "reference value snp_vmpl lists others)",
		    tostring(c.vmpl)), 0)
	end
end

-- AMD SEV-SNP.
function appraise.snp(c, v)
	snp_vmpl(c)
	if one_of(c.measurement, "snp_launch_measurement") then
		v.executables = 3
	end
	if one_of(c.reported_tcb_bootloader, "snp_bootloader") and
	    one_of(c.reported_tcb_microcode, "snp_microcode") and
	    one_of(c.reported_tcb_snp, "snp_snp_svn") and
	    one_of(c.reported_tcb_tee, "snp_tee_svn") then
		v.hardware = 2
	end
	if c.policy_debug_allowed == false and c.policy_migrate_ma == false then
		if is(c.platform_smt_enabled, "snp_smt_enabled") and
		    is(c.platform_tsme_enabled, "snp_tsme_enabled") and
		    is(c.policy_abi_major, "snp_guest_abi_major") and
		    is(c.policy_abi_minor, "snp_guest_abi_minor") and
		    is(c.policy_single_socket, "snp_single_socket") and
		    is(c.policy_smt_allowed, "snp_smt_allowed") then
			v.configuration = 2
		else
			v.configuration = 3
		end
	end
end

-- Some event of the UEFI event log matches: type, a predicate on its
-- details, and one of its digests equal to RV(name).
local function tdx_event(logs, type_name, pred, name)
	local want = rv(name)

	if want == nil then
		return false
	end
	for _, e in ipairs(tbl(logs)) do
		e = tbl(e)
		if e.type_name == type_name and pred(tbl(e.details)) then
			for _, d in ipairs(tbl(e.digests)) do
				if equal(tbl(d).digest, want) then
					return true
				end
			end
		end
	end
	return false
end

local function kernel_image(details)
	return contains(details.device_paths, "File(kernel)")
end

local function kernel_params(details)
	return details.string == "LOADED_IMAGE::LoadOptions"
end

-- TDX hardware: a TDX quote from Intel's QE, a registered MRTD, and an
-- up-to-date TCB (collateral unexpired unless skip_collateral).
local function tdx_hardware(c, skip_collateral)
	local q = tbl(c.quote)
	local header, body = tbl(q.header), tbl(q.body)

	return header.tee_type == "81000000" and
	    header.vendor_id == INTEL_QE_VENDOR and
	    one_of(body.mr_td, "mr_td") and c.tcb_status == "UpToDate" and
	    (skip_collateral or c.collateral_expiration_status == "0")
end

-- Intel TDX: executables 3 when RTMR1/RTMR2 and the kernel and its
-- command line in the event log match, 4 when only the RTMRs do (e.g. a
-- GKE grub boot).
function appraise.tdx(c, v)
	local body = tbl(tbl(c.quote).body)

	if one_of(body.rtmr_1, "rtmr_1") and one_of(body.rtmr_2, "rtmr_2") then
		if tdx_event(c.uefi_event_logs, "EV_EFI_BOOT_SERVICES_APPLICATION",
		    kernel_image, "tdvfkernel") and
		    tdx_event(c.uefi_event_logs, "EV_EVENT_TAG", kernel_params,
		    "tdvfkernelparams") then
			v.executables = 3
		else
			v.executables = 4
		end
	end
	if tdx_hardware(c, false) then
		v.hardware = 2
	end
	if tbl(c.td_attributes).debug == false and one_of(body.xfam, "xfam") then
		v.configuration = 2
	end
end

-- Intel SGX: Trustee's default policy has no SGX rules, so SGX evidence
-- keeps the defaults (executables 33, hardware 97, configuration 36), as
-- in Trustee's example token.
function appraise.sgx(c, v)
	local _ = c and v
end

-- Azure SEV-SNP confidential VM (vTPM); the claims are strings. Its SNP
-- report comes from the paravisor at VMPL 0; the same VMPL rule applies.
appraise["az-snp-vtpm"] = function(c, v)
	snp_vmpl(c)
	if one_of(c.measurement, "measurement") and
	    one_of(pcr(c, "pcr11"), "snp_pcr11") then
		v.executables = 3
	end
	if one_of(c.reported_tcb_bootloader, "tcb_bootloader") and
	    one_of(c.reported_tcb_microcode, "tcb_microcode") and
	    one_of(c.reported_tcb_snp, "tcb_snp") and
	    one_of(c.reported_tcb_tee, "tcb_tee") then
		v.hardware = 2
	end
	if one_of(c.platform_smt_enabled, "smt_enabled") and
	    one_of(c.platform_tsme_enabled, "tsme_enabled") and
	    one_of(c.policy_abi_major, "abi_major") and
	    one_of(c.policy_abi_minor, "abi_minor") and
	    one_of(c.policy_single_socket, "single_socket") and
	    one_of(c.policy_smt_allowed, "smt_allowed") then
		v.configuration = 2
	end
end

-- Azure TDX confidential VM (vTPM).
appraise["az-tdx-vtpm"] = function(c, v)
	if one_of(pcr(c, "pcr11"), "tdx_pcr11") then
		v.executables = 3
	end
	if tdx_hardware(c, true) then
		v.hardware = 2
	end
	if one_of(tbl(tbl(c.quote).body).xfam, "xfam") then
		v.configuration = 2
	end
end

-- A TPM 2.0 quote: the verifier does not trust the AK; the policy does,
-- when the AK is registered in "trusted_aks".
function appraise.tpm(c, v)
	v.hardware = 2
	if one_of(c.pcr11, "tpm_pcr11") and one_of(c.ak_public, "trusted_aks") then
		v.executables = 3
	end
	v.configuration = 0
end

-- IBM Secure Execution: the verifier's checks are the appraisal.
function appraise.se(c, v)
	local _ = c
	v.executables = 3
	v.hardware = 2
	v.configuration = 2
end

-- Rego set order: numbers before strings, each ascending.
local function set_less(a, b)
	local ta, tb = type(a), type(b)
	if ta ~= tb then
		return ta == "number"
	end
	return a < b
end

-- ear.trustee.identifiers: the union of the container images and UIDs the
-- Kata agent policy (init-data "policy.rego" policy_data) allows.
local function identifiers(input)
	local seen, list = {}, {}
	local apc = tbl(tbl(input.init_data_claims).agent_policy_claims)

	local function add(x)
		local t = type(x)
		if (t == "string" or t == "number") and not seen[x] then
			seen[x] = true
			list[#list + 1] = x
		end
	end
	for _, ct in ipairs(tbl(apc.containers)) do
		local oci = tbl(tbl(ct).OCI)
		add(tbl(oci.Annotations)["io.kubernetes.cri.image-name"])
		add(tbl(tbl(oci.Process).User).UID)
	end
	table.sort(list, set_less)
	return {
		name = "ear.trustee.identifiers",
		key = -18,
		value = { validated = list },	-- {} when empty
	}
end

-- The TEEs in the order they are looked for (an input has one).
local TEES = { "sample", "snp", "tdx", "sgx", "az-snp-vtpm", "az-tdx-vtpm",
	"tpm", "se" }

return function(input)
	local v = {
		["instance-identity"] = 0,
		configuration = 36,	-- unavailable
		executables = 33,	-- unrecognized runtime
		["file-system"] = 0,
		hardware = 97,		-- unrecognized
		["runtime-opaque"] = 0,
		["storage-opaque"] = 0,
		["sourced-data"] = 0,
	}

	for _, tee in ipairs(TEES) do
		local c = input[tee]
		if type(c) == "table" then
			appraise[tee](c, v)
			break
		end
	end
	return { trust_vector = v, extensions = { identifiers(input) } }
end
