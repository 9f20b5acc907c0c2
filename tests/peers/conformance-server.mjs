#!/usr/bin/env node
// A stdio MCP server that offers what the conformance suite's server scenarios call (the
// test_* tools, test:// resources, test_* prompts, logging, completion), written from the
// scenario descriptions in @modelcontextprotocol/conformance 0.1.16. The suite's own reference
// server is not in its npm package; this one lets tests/peers/conformance.mjs exercise sampling
// and elicitation (server-to-client requests), progress, logging, images, audio and embedded
// resources through supergateway + spill. Built on the SDK's low-level Server.
import zlib from "node:zlib";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  CallToolRequestSchema, CompleteRequestSchema, CreateMessageResultSchema, ElicitResultSchema,
  GetPromptRequestSchema, ListPromptsRequestSchema, ListResourceTemplatesRequestSchema,
  ListResourcesRequestSchema, ListToolsRequestSchema, ReadResourceRequestSchema,
  SetLevelRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

// ---------------------------------------------------------------- media made here

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function pngChunk(type, data) {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A w x h PNG of one RGB colour. */
function png(w, h, [r, g, b]) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlib.deflateSync(raw)), pngChunk("IEND", Buffer.alloc(0))]);
}
/** A mono 16-bit PCM WAV of n silent samples at 8 kHz. */
function wav(n) {
  const data = Buffer.alloc(n * 2);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0); h.writeUInt32LE(36 + data.length, 4); h.write("WAVE", 8);
  h.write("fmt ", 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24); h.writeUInt32LE(16000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34);
  h.write("data", 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}
const IMAGE = png(1, 1, [255, 0, 0]).toString("base64");
const AUDIO = wav(1).toString("base64");

// ---------------------------------------------------------------- server

const server = new Server({ name: "spill-conformance-target", version: "1.0.0" }, {
  capabilities: {
    tools: { listChanged: true }, resources: { subscribe: true, listChanged: true },
    prompts: { listChanged: true }, logging: {}, completions: {},
  },
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (t) => ({ content: [{ type: "text", text: t }] });
const noArgs = { type: "object", properties: {} };

async function elicit(extra, message, requestedSchema) {
  try {
    const r = await server.request({ method: "elicitation/create", params: { mode: "form", message, requestedSchema } }, ElicitResultSchema);
    return r;
  } catch (e) {
    return { error: e.message };
  }
}

const TOOLS = {
  test_simple_text: { description: "Returns one text item.", run: async () => text("This is a simple text response for testing.") },
  test_image_content: { description: "Returns a 1x1 PNG.", run: async () => ({ content: [{ type: "image", data: IMAGE, mimeType: "image/png" }] }) },
  test_audio_content: { description: "Returns a tiny WAV.", run: async () => ({ content: [{ type: "audio", data: AUDIO, mimeType: "audio/wav" }] }) },
  test_embedded_resource: {
    description: "Returns an embedded text resource.",
    run: async () => ({ content: [{ type: "resource", resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." } }] }),
  },
  test_multiple_content_types: {
    description: "Returns text, an image and an embedded resource.",
    run: async () => ({
      content: [
        { type: "text", text: "Multiple content types test:" },
        { type: "image", data: IMAGE, mimeType: "image/png" },
        { type: "resource", resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: JSON.stringify({ test: "data", value: 123 }) } },
      ],
    }),
  },
  test_tool_with_logging: {
    description: "Sends three info log messages while it runs.",
    run: async (args, extra) => {
      const steps = ["Tool execution started", "Tool processing data", "Tool execution completed"];
      for (let i = 0; i < steps.length; i++) {
        if (i) await sleep(50);
        await extra.sendNotification({ method: "notifications/message", params: { level: "info", logger: "spill-conformance-target", data: steps[i] } });
      }
      return text("Tool with logging executed successfully");
    },
  },
  test_tool_with_progress: {
    description: "Reports progress 0, 50 and 100 of 100.",
    run: async (args, extra, request) => {
      const token = request.params._meta?.progressToken;
      for (const p of [0, 50, 100]) {
        if (p) await sleep(50);
        if (token !== undefined) await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: p, total: 100, message: `step ${p} of 100` } });
      }
      return text(String(token ?? "no progress token"));
    },
  },
  test_error_handling: {
    description: "Always fails with a tool error.",
    run: async () => ({ isError: true, content: [{ type: "text", text: "This tool intentionally returns an error for testing" }] }),
  },
  test_sampling: {
    description: "Asks the client for an LLM completion of `prompt`.",
    inputSchema: { type: "object", properties: { prompt: { type: "string", description: "The prompt to send to the LLM" } }, required: ["prompt"] },
    run: async (args) => {
      try {
        const r = await server.request({ method: "sampling/createMessage", params: { messages: [{ role: "user", content: { type: "text", text: args.prompt } }], maxTokens: 100 } }, CreateMessageResultSchema);
        return text(`LLM response: ${r.content?.text ?? JSON.stringify(r.content)}`);
      } catch (e) { return { isError: true, content: [{ type: "text", text: `sampling failed: ${e.message}` }] }; }
    },
  },
  test_elicitation: {
    description: "Asks the user, through the client, for a username and an email.",
    inputSchema: { type: "object", properties: { message: { type: "string", description: "The message to show the user" } }, required: ["message"] },
    run: async (args, extra) => {
      const r = await elicit(extra, args.message, {
        type: "object",
        properties: { username: { type: "string", description: "User's response" }, email: { type: "string", description: "User's email address" } },
        required: ["username", "email"],
      });
      if (r.error) return { isError: true, content: [{ type: "text", text: `elicitation failed: ${r.error}` }] };
      return text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
    },
  },
  test_elicitation_sep1034_defaults: {
    description: "Elicits one field of each primitive type, each with a default (SEP-1034).",
    run: async (args, extra) => {
      const r = await elicit(extra, "Check the defaults", {
        type: "object",
        properties: {
          name: { type: "string", description: "Name", default: "John Doe" },
          age: { type: "integer", description: "Age", default: 30 },
          score: { type: "number", description: "Score", default: 95.5 },
          status: { type: "string", description: "Status", enum: ["active", "inactive", "pending"], default: "active" },
          verified: { type: "boolean", description: "Verified", default: true },
        },
        required: [],
      });
      if (r.error) return { isError: true, content: [{ type: "text", text: `elicitation failed: ${r.error}` }] };
      return text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
    },
  },
  test_elicitation_sep1330_enums: {
    description: "Elicits the five enum shapes of SEP-1330.",
    run: async (args, extra) => {
      const r = await elicit(extra, "Pick from each list", {
        type: "object",
        properties: {
          untitledSingle: { type: "string", description: "One of three", enum: ["option1", "option2", "option3"] },
          titledSingle: { type: "string", description: "One of three, titled", oneOf: [{ const: "value1", title: "First Option" }, { const: "value2", title: "Second Option" }, { const: "value3", title: "Third Option" }] },
          legacyEnum: { type: "string", description: "One of three, legacy titles", enum: ["opt1", "opt2", "opt3"], enumNames: ["Option One", "Option Two", "Option Three"] },
          untitledMulti: { type: "array", description: "Some of three", minItems: 1, maxItems: 3, items: { type: "string", enum: ["option1", "option2", "option3"] } },
          titledMulti: { type: "array", description: "Some of three, titled", minItems: 1, maxItems: 3, items: { anyOf: [{ const: "value1", title: "First Choice" }, { const: "value2", title: "Second Choice" }, { const: "value3", title: "Third Choice" }] } },
        },
        required: [],
      });
      if (r.error) return { isError: true, content: [{ type: "text", text: `elicitation failed: ${r.error}` }] };
      return text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
    },
  },
  json_schema_2020_12_tool: {
    description: "Has an input schema with JSON Schema 2020-12 keywords (SEP-1613).",
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: { address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
      properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
      additionalProperties: false,
    },
    run: async (args) => text(`called with ${JSON.stringify(args)}`),
  },
};

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: Object.entries(TOOLS).map(([name, t]) => ({ name, description: t.description, inputSchema: t.inputSchema ?? noArgs })),
}));
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  const t = TOOLS[request.params.name];
  if (!t) return { isError: true, content: [{ type: "text", text: `unknown tool ${request.params.name}` }] };
  return t.run(request.params.arguments ?? {}, extra, request);
});

const RESOURCES = {
  "test://static-text": { name: "static-text", description: "A static text resource", mimeType: "text/plain", read: () => ({ text: "This is the content of the static text resource." }) },
  "test://static-binary": { name: "static-binary", description: "A static PNG", mimeType: "image/png", read: () => ({ blob: IMAGE }) },
  "test://watched-resource": { name: "watched-resource", description: "A resource one can subscribe to", mimeType: "text/plain", read: () => ({ text: "Watched resource content" }) },
};
const subscriptions = new Set();
server.setRequestHandler(ListResourcesRequestSchema, async () => ({
  resources: Object.entries(RESOURCES).map(([uri, r]) => ({ uri, name: r.name, description: r.description, mimeType: r.mimeType })),
}));
server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
  resourceTemplates: [{ uriTemplate: "test://template/{id}/data", name: "template", description: "Data for an id", mimeType: "application/json" }],
}));
server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
  const uri = request.params.uri;
  const r = RESOURCES[uri];
  if (r) return { contents: [{ uri, mimeType: r.mimeType, ...r.read() }] };
  const m = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
  if (m) return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify({ id: m[1], templateTest: true, data: `Data for ID: ${m[1]}` }) }] };
  const e = new Error(`Resource not found: ${uri}`);
  e.code = -32002;
  throw e;
});
server.setRequestHandler(SubscribeRequestSchema, async (request) => { subscriptions.add(request.params.uri); return {}; });
server.setRequestHandler(UnsubscribeRequestSchema, async (request) => { subscriptions.delete(request.params.uri); return {}; });

const PROMPTS = {
  test_simple_prompt: { description: "No arguments", arguments: [], get: () => [{ role: "user", content: { type: "text", text: "This is a simple prompt for testing." } }] },
  test_prompt_with_arguments: {
    description: "Two required arguments",
    arguments: [{ name: "arg1", description: "First test argument", required: true }, { name: "arg2", description: "Second test argument", required: true }],
    get: (a) => [{ role: "user", content: { type: "text", text: `Prompt with arguments: arg1='${a.arg1}', arg2='${a.arg2}'` } }],
  },
  test_prompt_with_embedded_resource: {
    description: "Embeds the resource it is given",
    arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }],
    get: (a) => [
      { role: "user", content: { type: "resource", resource: { uri: a.resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } } },
      { role: "user", content: { type: "text", text: "Please process the embedded resource above." } },
    ],
  },
  test_prompt_with_image: {
    description: "Carries an image",
    arguments: [],
    get: () => [
      { role: "user", content: { type: "image", data: IMAGE, mimeType: "image/png" } },
      { role: "user", content: { type: "text", text: "Please analyze the image above." } },
    ],
  },
};
server.setRequestHandler(ListPromptsRequestSchema, async () => ({
  prompts: Object.entries(PROMPTS).map(([name, p]) => ({ name, description: p.description, ...(p.arguments.length ? { arguments: p.arguments } : {}) })),
}));
server.setRequestHandler(GetPromptRequestSchema, async (request) => {
  const p = PROMPTS[request.params.name];
  if (!p) { const e = new Error(`unknown prompt ${request.params.name}`); e.code = -32602; throw e; }
  return { messages: p.get(request.params.arguments ?? {}) };
});

server.setRequestHandler(SetLevelRequestSchema, async () => ({}));
const WORDS = ["paris", "park", "party", "hello", "world"];
server.setRequestHandler(CompleteRequestSchema, async (request) => {
  const values = WORDS.filter((w) => w.startsWith(request.params.argument?.value ?? ""));
  return { completion: { values, total: values.length, hasMore: false } };
});

await server.connect(new StdioServerTransport());
