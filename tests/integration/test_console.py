#!/usr/bin/python3
"""
test_console.py: the operator's console in a real browser: Debian's
headless chromium driven through Debian's python3-selenium and
chromium-driver, against a real trusteed --dev.

Covers: log in, wrong password, lockout; every page's main task (the
dashboard's live numbers, upload a resource and show its value as admin,
edit a policy with a syntax error then a good one and compare versions,
dry-run an attestation from the log, add and revoke a reference value,
add an auditor and show what it can and cannot do); log out; a forged
request refused (no CSRF token; a cross-site form); script injection
through a resource's content type, a reference value's name and value, a
policy log() line and an evidence field (nothing executes, the text is
shown as text); narrow screens and labelled controls. Screenshots of each
page go to tests/out/screenshots/.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = os.path.join(H.REPO, "tests", "out", "screenshots")

missing = []
try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    missing.append("python3-selenium (apt-get install python3-selenium)")
if not os.access(CHROMIUM, os.X_OK):
    missing.append("chromium (apt-get install chromium)")
if not os.access(CHROMEDRIVER, os.X_OK):
    missing.append("chromedriver (apt-get install chromium-driver)")
H.require("console", missing)

# Injection payloads: each would set window.__pwned (or open an alert,
# which makes the next WebDriver command fail) if it ever ran.
XSS_CT = "text/x-<svg/onload=window.__pwned=1>"
XSS_RV_NAME = "<img src=x onerror=window.__pwned=2>"
XSS_RV_VALUE = "<script>window.__pwned=3</script>"
XSS_LOG = "<img src=x onerror=window.__pwned=4>"
XSS_SVN = "<img src=x onerror=alert(5)>"


def spki_hash(cert):
    """base64(SHA-256(SubjectPublicKeyInfo)) of the server certificate, so
    chromium trusts exactly this certificate and nothing else."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    import base64
    import hashlib
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Browser:
    def __init__(self, srv, width=1280, height=900):
        self.srv = srv
        self.profile = tempfile.mkdtemp(prefix="trustee-chromium-")
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--user-data-dir=" + self.profile,
                  "--ignore-certificate-errors-spki-list=" + spki_hash(srv.cacert),
                  "--window-size=%d,%d" % (width, height)]:
            o.add_argument(a)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        self.d.set_page_load_timeout(30)
        self.base = "https://127.0.0.1:%d/console/" % srv.port

    def quit(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- finding and waiting
    def wait(self, cond, timeout=15, what="condition"):
        try:
            return WebDriverWait(self.d, timeout).until(cond)
        except TimeoutException:
            raise H.TestFailure("timed out waiting for %s; page: %r"
                                % (what, self.text("body")[:600]))

    def el(self, css, timeout=15):
        return self.wait(EC.visibility_of_element_located((By.CSS_SELECTOR, css)),
                         timeout, css)

    def els(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def tid(self, name, timeout=15):
        return self.el('[data-testid="%s"]' % name, timeout)

    def text(self, css="main"):
        try:
            return self.d.find_element(By.CSS_SELECTOR, css).text
        except Exception:       # noqa: BLE001
            return ""

    def wait_text(self, css, needle, timeout=15):
        self.wait(lambda d: needle in self.text(css), timeout,
                  "%r in %s" % (needle, css))

    def go(self, page):
        url = self.base + "#/" + page
        if self.d.current_url == url:
            self.d.refresh()            # same fragment: no hashchange
        else:
            self.d.get(url)
        self.wait(lambda d: "Loading" not in self.text(), what="page " + page)

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def async_js(self, script, *args):
        return self.d.execute_async_script(script, *args)

    def not_pwned(self):
        check(self.js("return window.__pwned === undefined"),
              "injected script ran: window.__pwned = %r" % self.js("return window.__pwned"))
        check(self.js("return document.querySelectorAll('img[src=\"x\"], svg[onload]').length") == 0,
              "an element from data was parsed as HTML")

    def severe_logs(self):
        return [e for e in self.d.get_log("browser") if e["level"] == "SEVERE"
                and "Failed to load resource" not in e["message"]]

    # -- session
    def login(self, user, password):
        self.d.get(self.base)
        self.tid("login-user").clear()
        self.tid("login-user").send_keys(user)
        self.tid("login-password").send_keys(password)
        self.tid("login-submit").click()

    def logged_in(self, user):
        self.wait(lambda d: user in self.text("#who-name"), what="logged in as " + user)
        self.wait(lambda d: "Loading" not in self.text(), what="first page")


def admin_password(srv):
    with open(os.path.join(srv.state, "admin", "console-password")) as f:
        return f.read().strip()


def api(srv, method, path, body=None, role="admin", ctype=None):
    h = {"Authorization": "Bearer " + H.admin_token(srv, role=role)}
    if ctype:
        h["Content-Type"] = ctype
    return srv.request(method, "/api/v1/" + path, body=body, headers=h)


def browser(ctx, srv=None, **kw):
    b = Browser(srv or ctx.shared, **kw)
    ctx.data.setdefault("browsers", []).append(b)
    return b


def admin_browser(ctx):
    b = ctx.data.get("admin")
    if b is None:
        b = browser(ctx)
        b.login("admin", admin_password(ctx.shared))
        b.logged_in("admin")
        ctx.data["admin"] = b
    return b


def setup(ctx, srv):
    # An attestation that verifies (evidence field with markup) and one
    # that does not, so the log and the dashboard have entries.
    g = H.PyGuest(srv)
    g.auth()
    body = g.attest_body()
    body["tee-evidence"]["primary_evidence"]["svn"] = XSS_SVN
    g.attest(raw_body=body)
    srv.request("POST", "/attestation", body={"verification_requests": [
        {"tee": "snp", "evidence": H.b64url(b"{}")}], "policy_ids": []})
    # Some traffic for the dashboard: flows, releases, refusals.
    H.expect_status(api(srv, "PUT", "resources/demo/key/one", body=b"v", ctype="text/plain"), 201)
    for i in range(8):
        g = H.PyGuest(srv)
        g.handshake()
        g.get("resource/demo/key/one")
    for tee in ("tdx", "snp", "az-snp-vtpm"):
        srv.request("POST", "/attestation", body={"verification_requests": [
            {"tee": tee, "evidence": H.b64url(b"{}")}], "policy_ids": []})


# ------------------------------------------------------------------ login

def test_wrong_password_then_login(ctx):
    b = browser(ctx)
    b.login("admin", "not the password")
    b.wait_text("[data-testid=login-error]", "Wrong user name or password")
    b.shot("login")
    check(b.js("return document.cookie") == "", "a cookie is readable from script")
    b.tid("login-password").send_keys(admin_password(ctx.shared))
    b.tid("login-submit").click()
    b.logged_in("admin")
    check(b.js("return document.cookie") == "", "the session cookie is readable from script (not HttpOnly)")
    check(b.severe_logs() == [], "console errors: %r" % b.severe_logs())


def test_lockout_shown(ctx):
    srv = ctx.server("lock", args=["--login-lockout", "3", "--login-delay-after", "10"])
    b = browser(ctx, srv)
    for i in range(3):
        b.login("admin", "wrong-%d" % i)
        b.wait_text("[data-testid=login-error]", "Wrong user name or password")
        b.js("document.querySelector('[data-testid=login-error]').textContent = ''")
    b.login("admin", admin_password(srv))
    b.wait_text("[data-testid=login-error]", "locked")
    check("#/" not in b.d.current_url or b.text("#who-name") == "", "logged in while locked")
    b.shot("login-locked")
    b.quit()
    srv.stop()


# -------------------------------------------------------------- dashboard

def test_dashboard_live(ctx):
    b = admin_browser(ctx)
    b.go("dashboard")
    b.tid("card-attestations")
    big = '[data-testid="card-attestations"] .big'

    # The card is rendered again on every refresh: read it once per try
    # (as a string, "" while it is being rendered), never twice.
    def figure():
        t = b.text(big).strip()
        return t if t.isdigit() else None

    before = int(b.wait(lambda d: figure(), 15,
                        "the dashboard's first figures"))
    check(before >= 2, "setup attestations not counted: %d" % before)
    check(len(b.els("svg.chart rect")) >= 1, "no bars in the attestation chart")
    check(b.els('[data-testid="health-store"] .badge')[0].text == "ok", "store health")
    H.PyGuest(ctx.shared).handshake()
    b.wait(lambda d: int(figure() or -1) > before, 20,
           "the dashboard to refresh by itself")
    b.shot("dashboard")
    b.not_pwned()


# -------------------------------------------------------------- resources

def test_upload_resource_and_reveal(ctx):
    b = admin_browser(ctx)
    b.go("resources")
    b.tid("up-repo").send_keys("app")
    b.tid("up-type").send_keys("key")
    b.tid("up-tag").send_keys("disk")
    b.tid("up-text").send_keys("s3cret-value-from-the-browser")
    b.tid("up-submit").click()
    b.wait_text("main", "Stored app/key/disk version 1")
    b.tid("res-app/key/disk").click()
    b.wait_text('[data-testid="res-detail"]', "Active version")
    check("s3cret-value" not in b.text(), "the value is shown without asking")
    # A file upload makes version 2 (the name stays in the form).
    f = ctx.write("upload.bin", b"\x00\x01binary-file")
    b.js("document.querySelector('input[value=file]').click()")
    check(b.tid("up-repo").get_attribute("value") == "app", "the name was not kept")
    b.tid("up-file").send_keys(f)
    b.tid("up-submit").click()
    b.wait_text("main", "Stored app/key/disk version 2")
    # Show the value: admin only, after a reason, audited.
    b.tid("reveal").click()
    dlg = b.el("dialog.modal")
    dlg.find_element(By.CSS_SELECTOR, "input").send_keys("browser test")
    dlg.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    b.wait_text('[data-testid="revealed"]', "AAFiaW5hcnktZmlsZQ==")
    b.shot("resources")
    au = api(ctx.shared, "GET", "audit?action=resource.reveal").json()["items"]
    check(au and au[0]["reason"] == "browser test" and au[0]["actor"] == "admin (admin)", "audit %r" % au[:1])
    # Delete behind a typed confirmation.
    b.tid("delete").click()
    dlg = b.el("dialog.modal")
    dlg.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    b.wait_text("dialog.modal", "to confirm")      # refused without the name
    dlg.find_element(By.CSS_SELECTOR, "input").send_keys("app/key/disk")
    dlg.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    b.wait(lambda d: api(ctx.shared, "GET", "resources/app/key/disk").status == 404, 10, "deletion")


def test_resource_injection(ctx):
    srv = ctx.shared
    r = api(srv, "PUT", "resources/xss/ct/one", body=b"v", ctype=XSS_CT)
    H.expect_status(r, 201)
    r = api(srv, "PUT", "resources/xss/%3Cimg%3E/one", body=b"v", ctype="text/plain")
    H.expect_problem(r, 400, "BadRequest")
    b = admin_browser(ctx)
    b.go("resources")
    b.tid("res-xss/ct/one").click()
    b.wait_text('[data-testid="res-detail"]', XSS_CT.lower())
    b.not_pwned()
    # The upload form refuses a name with markup before asking the server.
    for k, v in (("up-repo", "<b>x</b>"), ("up-type", "t"), ("up-tag", "g")):
        b.tid(k).clear()
        b.tid(k).send_keys(v)
    b.js("document.querySelector('input[value=text]').click()")
    b.tid("up-text").send_keys("v")
    b.js("document.querySelector('form.upload').noValidate = true")
    b.tid("up-submit").click()
    b.wait_text("form.upload", "does not start with a dot")
    b.not_pwned()


# --------------------------------------------------------------- policies

GOOD_LUA = """-- browser test policy
return function(input)
  trustee.log("%s")
  return { trust_vector = { hardware = 2, executables = 3, configuration = 2 } }
end
""" % XSS_LOG


def set_editor(b, text):
    ta = b.tid("policy-editor")
    b.js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", ta, text)


def test_policy_syntax_error_then_good(ctx):
    b = admin_browser(ctx)
    b.go("policies/attestation/default_cpu")
    ta = b.tid("policy-editor")
    original = ta.get_attribute("value")
    check("return function" in original, "policy text not loaded")
    bad = original.rstrip("\n") + "\nthis is not lua\n"
    bad_line = bad.count("\n")
    set_editor(b, bad)
    b.tid("policy-save").click()
    b.wait_text('[data-testid="policy-editor-error"]', "Line %d" % bad_line)
    marked = b.els(".gutter .ln.err")
    check(len(marked) == 1 and marked[0].get_attribute("data-line") == str(bad_line),
          "error marked at %r" % [m.get_attribute("data-line") for m in marked])
    b.shot("policy-error")
    set_editor(b, GOOD_LUA)
    b.tid("policy-save").click()
    b.wait_text("main", "Saved as version")
    check(not b.els(".gutter .ln.err"), "the error mark stayed")
    # Compare the two newest versions.
    b.wait(lambda d: b.els('[data-testid="diff-show"]') and b.els('[data-testid="diff-show"]')[0].is_displayed(),
           what="the diff controls")
    b.tid("diff-show").click()
    b.wait_text('[data-testid="diff"]', "browser test policy")
    b.shot("policies")
    b.not_pwned()


def test_dry_run_from_the_log(ctx):
    b = admin_browser(ctx)
    b.go("attestations")
    b.el('[data-testid="att-table"] tbody tr')
    b.shot("attestations")
    # The entry whose evidence carried markup: the oldest sample one.
    links = [r.find_element(By.CSS_SELECTOR, '[data-testid="att-link"]')
             for r in b.els('[data-testid="att-table"] tbody tr') if "sample" in r.text]
    check(len(links) >= 2, "sample entries %d" % len(links))
    links[-1].click()
    b.wait_text("main", "Claims")
    b.wait_text("main", XSS_SVN)                  # shown as text
    b.wait_text("main", "EAR token")
    b.not_pwned()
    b.shot("attestation-detail")
    b.tid("send-dry-run").click()
    b.wait(lambda d: "svn" in (b.tid("dry-input").get_attribute("value") or ""), 15, "claims as input")
    b.tid("dry-run").click()
    b.wait_text('[data-testid="dry-out"]', "Status")
    b.wait_text('[data-testid="dry-log"]', XSS_LOG)   # the log() line, as text
    b.not_pwned()
    b.shot("policy-dry-run")


# ------------------------------------------------------- reference values

def test_reference_values(ctx):
    srv = ctx.shared
    H.expect_status(api(srv, "PUT", "reference-values/" + H.b64url(b"x")[:0] + "%3Cimg%20src%3Dx%20onerror%3Dwindow.__pwned%3D2%3E",
                        body={"value": XSS_RV_VALUE}), 201)
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5 * 86400))
    H.expect_status(api(srv, "PUT", "reference-values/expiring-soon", body={"value": ["aa"], "expiration": soon}), 201)
    b = admin_browser(ctx)
    b.go("rv")
    b.tid("rv-name").send_keys("snp_launch_measurement")
    b.tid("rv-value").send_keys('["0123abcd"]')
    b.tid("rv-add").click()
    b.wait_text('[data-testid="rv-table"]', "snp_launch_measurement")
    b.wait_text('[data-testid="rv-table"]', XSS_RV_NAME)
    b.wait_text('[data-testid="rv-table"]', "expires soon")
    b.not_pwned()
    row = [r for r in b.els('[data-testid="rv-row"]') if "snp_launch_measurement" in r.text][0]
    row.find_element(By.CSS_SELECTOR, '[data-testid="rv-revoke"]').click()
    dlg = b.el("dialog.modal")
    dlg.find_element(By.CSS_SELECTOR, "textarea").send_keys("superseded by firmware 1.55")
    dlg.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    b.wait_text('[data-testid="rv-table"]', "superseded by firmware 1.55")
    states = b.js("""return [...document.querySelectorAll('[data-testid=rv-row]')]
        .filter(r => r.textContent.includes('snp_launch_measurement'))
        .map(r => r.querySelector('.badge').textContent);""")
    check(states == ["revoked"], "badge %r" % states)
    b.shot("reference-values")
    rec = api(srv, "GET", "reference-values/snp_launch_measurement").json()
    check(rec["state"] == "revoked" and rec["revoked"]["reason"] == "superseded by firmware 1.55"
          and rec["revoked"]["by"] == "admin (admin)", "revocation %r" % rec)


# ------------------------------------------------------------------ audit

def test_audit_page(ctx):
    b = admin_browser(ctx)
    b.go("audit")
    b.wait_text('[data-testid="audit-table"]', "rv.revoke")
    b.shot("audit")


# ------------------------------------------------------------------ users

def test_auditor_can_and_cannot(ctx):
    b = admin_browser(ctx)
    b.go("users")
    b.tid("user-name").send_keys("auditor1")
    b.el('[data-testid="user-role"] option[value="auditor"]').click()
    b.tid("user-password").send_keys("auditor-password-1")
    b.tid("user-password2").send_keys("auditor-password-1")
    b.tid("user-add").click()
    b.tid("user-row-auditor1")
    b.shot("users")
    a = browser(ctx)
    a.login("auditor1", "auditor-password-1")
    a.logged_in("auditor1")
    nav = a.text("nav")
    check("Audit" in nav and "Users" not in nav, "auditor nav %r" % nav)
    # Can: read the log, the audit trail, policies.
    a.go("audit")
    a.wait_text('[data-testid="audit-table"]', "user.add")
    a.go("policies/attestation/default_cpu")
    check("Read only" in a.text() and not a.els('[data-testid="policy-save"]')
          and not a.els('[data-testid="dry-run"]'), "auditor sees write controls")
    a.go("resources")
    check(not a.els("form.upload") and not a.els('[data-testid="reveal"]'), "auditor sees upload/reveal")
    a.go("users")
    a.wait_text("main", "cannot use this page")
    a.shot("auditor-view")
    # Cannot, even when the page is bypassed: the server refuses.
    res = a.async_js("""
        const done = arguments[arguments.length - 1];
        (async () => {
          const s = await (await fetch('/console/api/session')).json();
          const put = await fetch('/api/v1/resources/aud/key/x', {method: 'PUT',
            headers: {'X-CSRF-Token': s.csrf, 'Content-Type': 'text/plain'}, body: 'x'});
          const users = await fetch('/api/v1/users');
          done([put.status, users.status]);
        })();""")
    check(res == [403, 403], "auditor requests: %r" % res)


# -------------------------------------------------------------- forgeries

def test_csrf_forged_requests(ctx):
    srv = ctx.shared
    b = admin_browser(ctx)
    b.go("dashboard")
    # Same origin but without the token: refused.
    st = b.async_js("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1/users', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({name: 'forged1', role: 'admin', password: 'forged-pass-1'})})
          .then(r => r.json().then(j => done([r.status, j.detail])));""")
    check(st[0] == 403 and "CSRF" in st[1], "forged same-origin request: %r" % st)
    # From another site (a page of its own, as an attacker would serve):
    # the form post carries no cookie (SameSite=Strict), so it is refused.
    page = ("<form method=POST enctype=text/plain action=https://127.0.0.1:%d/api/v1/users>"
            "<input name='{\"name\":\"forged2\",\"role\":\"admin\",\"password\":\"forged-pass-2\",\"x\":\"' value='\"}'>"
            "</form><script>document.forms[0].submit()</script>" % srv.port)
    b.d.get("data:text/html;charset=utf-8," + page.replace("#", "%23"))
    b.wait(lambda d: "Unauthenticated" in d.page_source or "127.0.0.1" in d.current_url, 15,
           "the forged form to be answered")
    check("Unauthenticated" in b.d.page_source, "the forged post was not refused: %r" % b.d.page_source[:300])
    for n in ("forged1", "forged2"):
        check(api(srv, "GET", "users/" + n).status == 404, "forged request created user %s" % n)
    b.d.get(b.base + "#/dashboard")
    b.logged_in("admin")


# ------------------------------------------------------- layout, a11y

def test_narrow_screen_and_labels(ctx):
    n = browser(ctx, width=390, height=844)
    n.login("admin", admin_password(ctx.shared))
    n.logged_in("admin")
    toggle = n.el("#nav-toggle")
    check(not n.el("#nav-toggle").get_attribute("hidden"), "menu button hidden")
    check(not n.d.find_element(By.ID, "nav").is_displayed(), "nav open on a narrow screen")
    toggle.click()
    n.wait(lambda d: d.find_element(By.ID, "nav").is_displayed(), 5, "nav to open")
    check(toggle.get_attribute("aria-expanded") == "true", "aria-expanded")
    n.shot("narrow-menu")
    n.tid("nav-attestations").click()
    n.wait_text("main", "Attestation log")
    n.shot("narrow-attestations")
    # Every control on every page has a label; keyboard can reach the nav.
    for page in ("dashboard", "attestations", "policies/attestation/default_cpu", "resources",
                 "rv", "audit", "users"):
        n.go(page)
        unlabelled = n.js("""
            return [...document.querySelectorAll('main input, main select, main textarea')]
              .filter(e => e.type !== 'hidden' && !e.getAttribute('aria-label') &&
                !(e.id && document.querySelector('label[for="' + e.id + '"]')) && !e.closest('label'))
              .map(e => e.outerHTML.slice(0, 80));""")
        check(unlabelled == [], "%s: unlabelled controls %r" % (page, unlabelled))
    n.go("dashboard")
    first = n.js("""
        return [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
          .filter(e => e.tabIndex >= 0 && !e.disabled && !e.closest('[hidden]'))[0].className;""")
    check(first == "skip", "the first stop of Tab is %r, not the skip link" % first)
    skip = n.d.find_element(By.CSS_SELECTOR, "a.skip")
    n.js("arguments[0].focus()", skip)
    skip.send_keys(Keys.ENTER)
    check(n.js("return document.activeElement.id") == "main", "the skip link does not reach main")
    check(n.d.current_url.endswith("#/dashboard"), "the skip link changed the page")


# ---------------------------------------------------------------- logout

def test_logout(ctx):
    b = admin_browser(ctx)
    b.go("dashboard")
    b.el("#btn-logout").click()
    b.tid("login-user")
    r = b.async_js("""
        const done = arguments[arguments.length - 1];
        fetch('/api/v1/whoami').then(r => done(r.status));""")
    check(r == 401, "after logout the API answered %r" % r)
    b.d.get(b.base + "#/resources")
    b.tid("login-user")
    check(b.text("#who-name") == "", "still shown as logged in")
    ctx.data.pop("admin", None)


def test_no_script_errors(ctx):
    for b in ctx.data.get("browsers", []):
        try:
            errs = b.severe_logs()
        except Exception:       # noqa: BLE001 - a browser already closed
            continue
        check(errs == [], "browser console errors: %r" % errs[:3])


def test_close_browsers(ctx):
    for b in ctx.data.get("browsers", []):
        try:
            b.quit()
        except Exception:       # noqa: BLE001
            pass


if __name__ == "__main__":
    H.main(globals(), "console", setup=setup)
