#!/usr/bin/env node
// dcapqvl.js: time @phala/dcap-qvl's verify() on one quote, for
// tests/bench/peers.sh. The package is loaded from the path given with
// --module (peers.sh installs it into a scratch folder).
//
//   node dcapqvl.js --module DIR --quote FILE --collateral FILE
//       --at RFC3339 (--expect-status S | --expect-error TEXT)
//       [--min-seconds S] [--min-n N] [--warmup-seconds S]
//
// --collateral is dcap-qvl's own collateral JSON (the vectors'
// collateral-source.json). verify() takes "now" as its third argument in
// seconds since the epoch; --at gives it. One verification is checked
// against the expectation, verifications run untimed for --warmup-seconds
// of CPU time (default 1: the JIT compiles the hot paths, dcap-qvl's best
// case), then are repeated until both --min-n and --min-seconds of
// process CPU time are reached. Prints one
// JSON line: n, cpu_s (process.cpuUsage: user+system of the whole
// process, so garbage collection threads count), wall_s, per_cpu_s,
// outcome. Exit 1 when the outcome differs from the expectation.
'use strict';

const fs = require('fs');

function parseArgs(argv) {
    const o = { minSeconds: 3, minN: 20, warmupSeconds: 1 };
    for (let i = 2; i < argv.length; i += 2) {
        const k = argv[i], v = argv[i + 1];
        if (v === undefined)
            throw new Error('missing value for ' + k);
        switch (k) {
        case '--module': o.module = v; break;
        case '--quote': o.quote = v; break;
        case '--collateral': o.collateral = v; break;
        case '--at': o.at = v; break;
        case '--expect-status': o.expectStatus = v; break;
        case '--expect-error': o.expectError = v; break;
        case '--min-seconds': o.minSeconds = Number(v); break;
        case '--min-n': o.minN = Number(v); break;
        case '--warmup-seconds': o.warmupSeconds = Number(v); break;
        default: throw new Error('unknown option ' + k);
        }
    }
    if (!o.module || !o.quote || !o.collateral || !o.at ||
        (o.expectStatus === undefined) === (o.expectError === undefined))
        throw new Error('need --module --quote --collateral --at and one ' +
            'of --expect-status / --expect-error');
    return o;
}

// One verification: the outcome as a string, "status X" or "error: msg".
function once(verify, quote, collateral, now) {
    try {
        const r = verify(quote, collateral, now);
        return 'status ' + r.status;
    } catch (e) {
        return 'error: ' + (e && e.message ? e.message : String(e));
    }
}

function main() {
    const o = parseArgs(process.argv);
    const { verify } = require(o.module);
    const quote = new Uint8Array(fs.readFileSync(o.quote));
    const collateral = JSON.parse(fs.readFileSync(o.collateral, 'utf8'));
    const ms = Date.parse(o.at);
    if (Number.isNaN(ms))
        throw new Error('--at: not a date: ' + o.at);
    const now = Math.floor(ms / 1000);

    const outcome = once(verify, quote, collateral, now);
    const ok = o.expectStatus !== undefined ?
        outcome === 'status ' + o.expectStatus :
        outcome.startsWith('error: ') && outcome.includes(o.expectError);
    if (!ok) {
        console.log(JSON.stringify({ outcome, ok: false }));
        process.exit(1);
    }

    const cw = process.cpuUsage();
    for (;;) {
        const c = process.cpuUsage(cw);
        if ((c.user + c.system) / 1e6 >= o.warmupSeconds)
            break;
        once(verify, quote, collateral, now);
    }

    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    let n = 0, cpu = 0;
    while (n < o.minN || cpu < o.minSeconds) {
        if (once(verify, quote, collateral, now) !== outcome)
            throw new Error('outcome changed at iteration ' + n);
        n++;
        const c = process.cpuUsage(c0);
        cpu = (c.user + c.system) / 1e6;
    }
    const wall = Number(process.hrtime.bigint() - w0) / 1e9;
    console.log(JSON.stringify({
        n, cpu_s: cpu, wall_s: wall, per_cpu_s: n / cpu,
        wall_per_s: n / wall, outcome, ok: true,
    }));
}

try {
    main();
} catch (e) {
    console.error('dcapqvl.js: ' + (e && e.message ? e.message : e));
    process.exit(2);
}
