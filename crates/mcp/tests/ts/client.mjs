// Drives sova-mcp with the official TypeScript MCP SDK client (run by
// crates/mcp/tests/ts_client.rs, which installs the SDK and starts the server).
//
// Phases, in order: strict JSON Schema compilation of every tool's inputSchema and
// outputSchema (ajv, strict mode); every advertised bound crossed (each must be a tool error,
// with nothing paid); progress notifications during a job wait; every tool with default
// arguments (the size of its answer). Prints one JSON report on stdout; the Rust test asserts.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import Ajv from "ajv";

const url = process.env.SOVA_MCP_URL;
const token = process.env.SOVA_MCP_TOKEN;
const W1 = process.env.SOVA_TEST_WALLET;
const W2 = process.env.SOVA_TEST_WALLET2;
const MINT = process.env.SOVA_TEST_MINT;

const report = {
  protocolVersion: null,
  tools: [],
  schemaErrors: [],
  bounds: [],
  boundsPaid: null,
  progress: [],
  progressResult: null,
  sizes: {},
  errors: [],
};

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "sova-ts-sdk-test", version: "0.0.0" }, { capabilities: {} });
await client.connect(transport);
report.protocolVersion = transport.protocolVersion ?? null;

const textOf = (r) =>
  (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");

async function call(name, args, options) {
  try {
    const r = await client.callTool({ name, arguments: args }, undefined, options);
    return { r, thrown: null };
  } catch (e) {
    return { r: null, thrown: String(e?.message ?? e) };
  }
}

// ---- 1. schemas, strict ------------------------------------------------------------------
const { tools } = await client.listTools();
report.tools = tools.map((t) => t.name);
const ajv = new Ajv({ strict: true, allErrors: true });
for (const t of tools) {
  for (const [which, schema] of [["inputSchema", t.inputSchema], ["outputSchema", t.outputSchema]]) {
    if (!schema) {
      report.schemaErrors.push(`${t.name}.${which}: missing`);
      continue;
    }
    try {
      const validate = ajv.compile(schema);
      // Every advertised default is valid for its own property.
      for (const [prop, p] of Object.entries(schema.properties ?? {})) {
        if ("default" in p && !ajv.validate(p, p.default)) {
          report.schemaErrors.push(`${t.name}.${which}.${prop}: default ${JSON.stringify(p.default)} is invalid`);
        }
      }
      void validate;
    } catch (e) {
      report.schemaErrors.push(`${t.name}.${which}: ${e.message}`);
    }
  }
}

// Valid arguments of every tool; the job tools get a handle from the progress phase.
const valid = {
  wallet_hud: { address: W1 },
  wallet_profile: { address: W1 },
  wallet_token_pnl: { address: W1 },
  batch_wallet_hud: { wallets: [W1, W2] },
  token_holder_profiles: { mint: MINT },
  wallet_similarity: { wallets: [W1, W2] },
  deep_token_analysis: { mint: MINT },
  job_status: { jobId: "job-1" },
  job_wait: { handle: "job1.x" },
  pricing: {},
  budget_status: {},
  spend_report: {},
  payments: {},
};

async function paidSoFar() {
  const { r } = await call("budget_status", {});
  const d = r?.structuredContent?.data ?? {};
  return { payments: d.payments ?? null, uncertain: d.uncertainPayments ?? null, spent: d.spent?.baseUnits ?? null };
}

// ---- 2. every advertised bound -----------------------------------------------------------
function crossings(schema) {
  const out = [];
  for (const [prop, p] of Object.entries(schema.properties ?? {})) {
    if (p.type === "integer" || p.type === "number") {
      if (p.maximum !== undefined) {
        out.push([prop, p.maximum + 1]);
        if (p.maximum + 1 < 4294967295) out.push([prop, 4294967295]);
      }
      if (p.minimum !== undefined) out.push([prop, p.minimum - 1]);
      out.push([prop, "12"]);
    }
    if (p.type === "string") {
      if (p.maxLength !== undefined) out.push([prop, "1".repeat(p.maxLength + 1)]);
      if (p.minLength !== undefined && p.minLength > 0) out.push([prop, ""]);
      if (p.pattern !== undefined) out.push([prop, "0OIl-not-base58"]);
      if (p.enum !== undefined) out.push([prop, "not-one-of-them"]);
    }
    if (p.type === "array") {
      const item = p.items?.pattern ? W1 : "x";
      if (p.maxItems !== undefined) out.push([prop, Array(p.maxItems + 1).fill(item)]);
      if (p.minItems !== undefined && p.minItems > 0) out.push([prop, Array(p.minItems - 1).fill(item)]);
    }
    if (p.type === "boolean") out.push([prop, "yes"]);
  }
  if (schema.additionalProperties === false) out.push(["notAnArgument", 1]);
  for (const req of schema.required ?? []) out.push([req, undefined]);
  return out;
}

const before = await paidSoFar();
for (const t of tools) {
  for (const [prop, value] of crossings(t.inputSchema)) {
    const args = { ...valid[t.name] };
    if (value === undefined) delete args[prop];
    else args[prop] = value;
    const { r, thrown } = await call(t.name, args);
    report.bounds.push({
      tool: t.name,
      prop,
      value: typeof value === "string" && value.length > 40 ? `${value.length} chars` : value,
      isError: r?.isError ?? null,
      kind: r?.structuredContent?.error?.kind ?? null,
      thrown,
    });
  }
}
const after = await paidSoFar();
report.boundsPaid = { before, after };

// ---- 3. progress during a job wait -------------------------------------------------------
{
  const q = await call("token_holder_profiles", { mint: MINT, topN: 5, waitSeconds: 0 });
  const job = q.r?.structuredContent?.job;
  if (!job) {
    report.errors.push(`token_holder_profiles with waitSeconds 0 gave no handle: ${q.thrown ?? textOf(q.r)}`);
  } else {
    valid.job_wait = { handle: job.handle };
    valid.job_status = { jobId: job.jobId };
    const w = await call("job_wait", { handle: job.handle, waitSeconds: 60 }, {
      onprogress: (p) => report.progress.push(p),
      resetTimeoutOnProgress: true,
    });
    report.progressResult = {
      status: w.r?.structuredContent?.status ?? null,
      isError: w.r?.isError ?? null,
      thrown: w.thrown,
    };
  }
}

// ---- 4. every tool with default arguments: the size of the answer --------------------------
for (const t of tools) {
  const { r, thrown } = await call(t.name, valid[t.name]);
  report.sizes[t.name] = {
    textChars: r ? textOf(r).length : null,
    structuredBytes: r?.structuredContent ? JSON.stringify(r.structuredContent).length : null,
    isError: r?.isError ?? null,
    status: r?.structuredContent?.status ?? null,
    thrown,
    text: r && r.isError ? textOf(r).slice(0, 300) : undefined,
  };
}

await client.close();
process.stdout.write(JSON.stringify(report));
