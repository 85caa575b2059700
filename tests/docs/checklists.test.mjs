// docs/architecture.md's "Adding an operation" and "Adding a platform" name every place a new
// flow touches. This keeps them true: every path they name exists, and every flow registered
// today is wired the way they say (source in the build, unit tests, its platform's page, its
// operation in the protocol page).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const read = (relative) => fs.readFileSync(path.join(REPO, relative), "utf8");

function section(markdown, title) {
  const start = markdown.indexOf(`## ${title}\n`);
  assert.notEqual(start, -1, `docs/architecture.md has a "${title}" section`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** Backquoted repository paths of a section, placeholders (`<platform>`) left out. */
function namedPaths(text) {
  return [...text.matchAll(/`([a-z0-9_./-]+\/[a-z0-9_.-]+)`/gi)]
    .map((m) => m[1])
    .filter((p) => !p.includes("<") && /^(host|extension|tests|docs|installer|scripts)\//.test(p));
}

/** The flows of registry.cpp: class, header, source, platform and operation. */
function registeredFlows() {
  const registry = read("host/src/workflow/registry.cpp");
  const flows = [];
  for (const [, className] of registry.matchAll(/make_unique<(\w+)>\(\)/g)) {
    const header = fs
      .readdirSync(path.join(REPO, "host/src/workflow"))
      .filter((f) => f.endsWith(".h"))
      .find((f) => new RegExp(`class ${className}\\b[^;{]*:\\s*public Flow`).test(read(`host/src/workflow/${f}`)));
    assert.ok(header, `a header in host/src/workflow declares ${className} as a Flow`);
    const text = read(`host/src/workflow/${header}`);
    const platform = text.match(/platform\(\) const override \{ return "(\w+)"; \}/)?.[1];
    const constant = text.match(/operation\(\) const override \{ return (\w+); \}/)?.[1];
    assert.ok(platform && constant, `${header} names its platform and operation inline`);
    const operation = read("host/src/workflow/flow.h").match(new RegExp(`${constant} = "(\\w+)"`))?.[1];
    assert.ok(operation, `${constant} is an operation name in flow.h`);
    flows.push({ className, header, source: header.replace(/\.h$/, ".cpp"), platform, operation });
  }
  return flows;
}

const architecture = read("docs/architecture.md");

test("every path the two checklists name exists", () => {
  for (const title of ["Adding an operation", "Adding a platform"]) {
    const paths = namedPaths(section(architecture, title));
    assert.ok(paths.length >= 5, `${title} names the places to touch`);
    for (const p of paths) assert.ok(fs.existsSync(path.join(REPO, p)), `${title}: ${p} exists`);
  }
});

test("every registered flow is wired as the checklist says", () => {
  const flows = registeredFlows();
  assert.ok(flows.length >= 1, "registry.cpp registers the built-in flows");
  const cmake = read("host/CMakeLists.txt");
  const protocol = read("docs/protocol.md");
  for (const flow of flows) {
    const where = `${flow.platform}/${flow.operation} (${flow.className})`;
    assert.ok(cmake.includes(`src/workflow/${flow.source}`), `${where}: its source is built`);
    const tests = `tests/unit/${flow.platform}_tests.cpp`;
    assert.ok(fs.existsSync(path.join(REPO, tests)), `${where}: ${tests} exists`);
    assert.ok(read(tests).includes(flow.className), `${where}: ${tests} tests it`);
    assert.ok(fs.existsSync(path.join(REPO, `docs/${flow.platform}.md`)), `${where}: docs/${flow.platform}.md`);
    assert.ok(protocol.includes(`\`${flow.operation}\``), `${where}: docs/protocol.md names it`);
  }
});

test("every platform with flows is one the extension or the host can run", () => {
  const settings = read("extension/src/settings.js");
  const seedRoute = read("host/src/http/api_server.cpp").match(/\/api\/\(([a-z|]+)\)\/publish/)?.[1] ?? "";
  for (const platform of new Set(registeredFlows().map((f) => f.platform))) {
    assert.ok(settings.includes(`"${platform}"`), `${platform} is in SUPPORTED_PLATFORMS`);
    assert.ok(seedRoute.split("|").includes(platform), `${platform} is accepted by /api/<platform>/publish`);
  }
});
