// The XTCE export, validated with xmllint (libxml2 compiled to WebAssembly)
// against schema/xtce-1.2-subset.xsd: the real declarations of real
// services, documents broken on purpose (so the schema is shown to check
// something), hostile names and text, and random declarations.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { validateXML } from "xmllint-wasm";
import { Bus, SimClock, declarationMessage, type ServiceSpec } from "@umbra/core";
import { KeyStore } from "@umbra/ccsds";
import { codecFor, umbra, type MessageOf } from "@umbra/proto";
import { CommandHistory, ScheduleStore, SecurityState, TtcService, openTtcDatabase } from "@umbra/ttc";
import { CounterService } from "../../../examples/counter-service/src/index.js";
import { thermalSpec } from "../../thermal/src/service.js";
import { jobsSpec } from "../../jobs/src/service.js";
import { DescriptorReflection, exportXtce, umbraReflection, xtceName } from "../src/xtce.js";

type Declaration = MessageOf<typeof umbra.core.v1.ServiceDeclaration>;

const SCHEMA_PATH = fileURLToPath(new URL("../schema/xtce-1.2-subset.xsd", import.meta.url));
const SCHEMA = readFileSync(SCHEMA_PATH, "utf8");

async function validate(xml: string, schema: string = SCHEMA): Promise<{ valid: boolean; errors: string[] }> {
  const r = await validateXML({ xml: { fileName: "export.xml", contents: xml }, schema: { fileName: "xtce.xsd", contents: schema } });
  return { valid: r.valid, errors: r.errors.map((e) => e.rawMessage) };
}

async function expectValid(xml: string): Promise<void> {
  const r = await validate(xml);
  expect(r.errors).toEqual([]);
  expect(r.valid).toBe(true);
}

const declarationCodec = codecFor(umbra.core.v1.ServiceDeclaration);
/** A spec's declaration exactly as it travels on the bus (encoded, then decoded). */
function declarationOf(spec: ServiceSpec): Declaration {
  // The codec's decoded shape and MessageOf differ only in how TypeScript spells the oneof.
  return declarationCodec.decode(declarationCodec.encode(declarationMessage(spec))) as unknown as Declaration;
}

/** The inverse of xtceName, to show the mapping loses nothing. */
function fromXtceName(name: string): string {
  if (name === "~") return "";
  return name.replace(/~(?:U([0-9A-F]{6})|u([0-9A-F]{4})|([0-9A-F]{2}))/g, (_m, big: string, bmp: string, byte: string) => String.fromCharCode(...codeUnits(parseInt(big ?? bmp ?? byte, 16))));
}

function codeUnits(cp: number): number[] {
  if (cp < 0x10000) return [cp];
  const v = cp - 0x10000;
  return [0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff)];
}

// ---- the real services ---------------------------------------------------------------

let real: Declaration[] = [];
let realXml = "";
let cleanup: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // A real TTC and the real example counter on an in-process bus: their
  // declarations are collected as they publish them when they start.
  const dir = mkdtempSync(join(tmpdir(), "umbra-xtce-"));
  const clock = new SimClock({ startUtcMs: Date.UTC(2026, 5, 1) });
  const bus = new Bus({ node: "payload", clock, queueCapacity: 10_000 });
  const seen = new Map<string, Declaration>();
  bus.subscribe(umbra.core.v1.ServiceDeclaration, (d) => void seen.set(d.name, d));
  const db = openTtcDatabase(join(dir, "ttc.db"));
  const keys = new KeyStore([{ spi: 1, algorithm: "hmac-sha256", state: "active", key: new Uint8Array(32).fill(1) }]);
  const ttc = new TtcService({ bus, clock }, { keys, history: new CommandHistory(db), schedule: new ScheduleStore(db), security: new SecurityState(db) });
  const counter = new CounterService({ bus, clock });
  await counter.start();
  await ttc.start();
  await bus.idle();
  cleanup = async () => {
    await ttc.stop();
    await counter.stop();
    bus.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  };
  // The thermal governor and the job runner by their specs (their services need a platform).
  real = [seen.get("ttc")!, seen.get("counter")!, declarationOf(thermalSpec), declarationOf(jobsSpec)];
  realXml = exportXtce(real);
});

afterAll(async () => {
  await cleanup?.();
});

describe("exportXtce on the real services' declarations", () => {
  it("collected the TTC's and the counter's declarations from the bus", () => {
    expect(real.map((d) => d.name)).toEqual(["ttc", "counter", "thermal", "jobs"]);
    expect(real[0]!.commands.map((c) => c.name)).toContain("rotateKey");
  });

  it("validates against the XTCE 1.2 subset schema", async () => {
    await expectValid(realXml);
  });

  it("has one SpaceSystem per service under the root, with a Header and the APID", () => {
    expect(realXml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<SpaceSystem xmlns="http:\/\/www.omg.org\/spec\/XTCE\/20180204" name="Umbra"/);
    for (const [name, apid] of [
      ["ttc", 16],
      ["counter", 2032],
      ["thermal", 48],
      ["jobs", 96],
    ] as const) {
      expect(realXml).toContain(`<SpaceSystem name="${name}"`);
      expect(realXml).toContain(`<Alias nameSpace="ccsds-apid" alias="${apid}"/>`);
    }
    expect(realXml.match(/<Header validationStatus="Working">/g)).toHaveLength(5);
  });

  it("maps telemetry to typed parameters with units and the declared limits", () => {
    // counter.count: int, warning high 900, critical high 1000
    expect(realXml).toMatch(/<IntegerParameterType name="count_type"[^>]*sizeInBits="64" signed="true">\s*<DefaultAlarm>\s*<StaticAlarmRanges>\s*<WarningRange maxInclusive="900"\/>\s*<CriticalRange maxInclusive="1000"\/>/);
    // thermal.dieC: float in °C (a non-ASCII unit, kept as is)
    expect(realXml).toMatch(/<FloatParameterType name="dieC_type"[^>]*sizeInBits="64">\s*<UnitSet>\s*<Unit>°C<\/Unit>\s*<\/UnitSet>\s*<DefaultAlarm>\s*<StaticAlarmRanges>\s*<WarningRange maxInclusive="90"\/>\s*<CriticalRange maxInclusive="100"\/>/);
    // jobs.emergency: a boolean whose critical limit (high 0.5) means "true is critical"
    expect(realXml).toMatch(/<BooleanParameterType name="emergency_type"[^>]*>\s*<DefaultAlarm>\s*<AlarmConditions>\s*<CriticalAlarm>\s*<Comparison parameterRef="emergency" comparisonOperator="==" value="True"\/>/);
    expect(realXml).toMatch(/<Parameter name="dieC" shortDescription="Hottest trusted zone with the die profile" parameterTypeRef="dieC_type">\s*<ParameterProperties dataSource="telemetered"\/>/);
  });

  it("maps events to an enumerated event parameter with alarms by severity", () => {
    expect(realXml).toMatch(/<Enumeration value="5" label="criticalTrip" shortDescription="high: [^"]*"\/>/);
    expect(realXml).toContain('<EnumerationAlarm alarmLevel="critical" enumerationLabel="criticalTrip"/>');
    expect(realXml).toContain('<EnumerationAlarm alarmLevel="warning" enumerationLabel="limitExceeded"/>');
    expect(realXml).toContain('<EnumerationAlarm alarmLevel="watch" enumerationLabel="actuatorFailed"/>');
    expect(realXml).not.toContain('enumerationLabel="passiveTrip"'); // info is normal
  });

  it("builds command arguments from the argument messages by reflection, with the declared rules", () => {
    // counter.add: amount is a sint64 in -1000..1000, not 0: two valid ranges around 0
    expect(realXml).toMatch(/<IntegerArgumentType name="add_amount_type" shortDescription="amount: sint64" sizeInBits="64" signed="true">\s*<ValidRangeSet>\s*<ValidRange minInclusive="-1000" maxInclusive="-1"\/>\s*<ValidRange minInclusive="1" maxInclusive="1000"\/>/);
    // ttc.arm: apid uint32 0..2046; function string
    expect(realXml).toMatch(/<IntegerArgumentType name="arm_apid_type"[^>]*sizeInBits="32" signed="false">\s*<ValidRangeSet>\s*<ValidRange minInclusive="0" maxInclusive="2046"\/>/);
    expect(realXml).toContain('<StringArgumentType name="arm_function_type"');
    // ttc.setContacts: repeated ContactWindow -> an array of aggregates sized by a count argument
    expect(realXml).toMatch(/<ArrayArgumentType name="setContacts_windows_type"[^>]*arrayTypeRef="setContacts_windows_element_type">[\s\S]*?<ArgumentInstanceRef argumentRef="windows-count"\/>\s*<LinearAdjustment intercept="-1"\/>/);
    expect(realXml).toMatch(/<AggregateArgumentType name="setContacts_windows_element_type"[^>]*>\s*<MemberList>\s*<Member name="startNs"[^>]*typeRef="setContacts_windows_element_startNs_type"\/>/);
    // jobs.submit: a nested message with enums (EnumeratedArgumentType) and a nested repeated string
    expect(realXml).toMatch(/<EnumeratedArgumentType name="submit_output_keep_type"[^>]*>\s*<EnumerationList>\s*<Enumeration value="0" label="KEEP_POLICY_UNSPECIFIED"\/>/);
    expect(realXml).toContain('<Argument name="output-clearLabels-count"');
    expect(realXml).toMatch(/<FloatArgumentType name="submit_accuracyFloor_type"[^>]*sizeInBits="64"\/>/);
  });

  it("gives each command a CommandContainer for the ST[8,1] packet, with the argument protobuf-encoded", () => {
    const add = realXml.slice(realXml.indexOf('<MetaCommand name="add"'), realXml.indexOf("</MetaCommand>", realXml.indexOf('<MetaCommand name="add"')));
    const entries = [...add.matchAll(/<(FixedValueEntry|ArgumentRefEntry)[^>]*?(?:name="([^"]+)"[^>]*binaryValue="([^"]+)" sizeInBits="(\d+)"|argumentRef="([^"]+)")/g)].map((m) => (m[1] === "ArgumentRefEntry" ? `arg:${m[5]}` : `${m[2]}=${m[3]}/${m[4]}`));
    expect(entries).toEqual([
      "packetVersion=00/3",
      "packetType=01/1",
      "secondaryHeaderFlag=01/1",
      "apid=07F0/11",
      "sequenceFlags=03/2",
      "sequenceCount=0000/14",
      "packetDataLength=0000/16",
      "spi=0000/16",
      "securitySequenceNumber=00000000/32",
      "pusVersion=02/4",
      "acknowledgementFlags=0F/4",
      "serviceType=08/8",
      "messageSubtype=01/8",
      "sourceId=0001/16",
      "functionNameLength=03/8",
      "functionName=616464/24",
      "arg:protobuf-argument",
      `mac=${"00".repeat(16)}/128`,
      "packetErrorControl=0000/16",
    ]);
    // The primary and secondary header fields add up to the layout of docs/icd.md 10.1 and 10.2: 17 octets before the name.
    const bitsBeforeName = entries.slice(0, 14).reduce((n, e) => n + Number(e.split("/")[1]), 0);
    expect(bitsBeforeName).toBe(17 * 8);
    expect(add).toContain('<Argument name="protobuf-argument" shortDescription="the argument message, protobuf-encoded (docs/icd.md 12.2)" argumentTypeRef="add_protobuf_type" initialValue=""/>');
    expect(realXml).toMatch(/<BinaryArgumentType name="add_protobuf_type"[^>]*>\s*<BinaryDataEncoding>\s*<SizeInBits>\s*<FixedValue>-1<\/FixedValue>\s*<\/SizeInBits>\s*<ToBinaryTransformAlgorithm name="add_protobuf_encode"/);
    expect(realXml).toMatch(/<ExternalAlgorithm implementationName="protobuf" algorithmLocation="umbra.examples.v1.CounterAdd"\/>/);
    expect(realXml).toMatch(/<InputSet>\s*<InputArgumentInstanceRef argumentRef="amount"\/>\s*<\/InputSet>/);
  });

  it("marks critical commands with DefaultSignificance consequenceLevel=\"critical\", and only those", () => {
    const critical = [...realXml.matchAll(/<MetaCommand name="([^"]+)"[\s\S]*?<\/MetaCommand>/g)].filter((m) => m[0].includes('consequenceLevel="critical"')).map((m) => m[1]);
    expect(critical.sort()).toEqual(["reset", "rotateKey"]); // counter.reset and ttc.rotateKey
  });

  it("is deterministic, and a later declaration of a service replaces the earlier", () => {
    expect(exportXtce(real)).toBe(realXml);
    const again = exportXtce([...real, { ...real[1]!, description: "counter, declared again" }]);
    expect(again.match(/<SpaceSystem name="counter"/g)).toHaveLength(1);
    expect(again).toContain('shortDescription="counter, declared again"');
  });
});

describe("the subset schema really checks", () => {
  const broken: [string, (xml: string) => string][] = [
    ["a missing required element (EnumerationList)", (xml) => xml.replace(/<EnumerationList>[\s\S]*?<\/EnumerationList>/, "")],
    ["a missing required attribute (Header validationStatus)", (xml) => xml.replace('<Header validationStatus="Working">', "<Header>")],
    ["a bad NameType ('.')", (xml) => xml.replace('<SpaceSystem name="counter"', '<SpaceSystem name="counter.v2"')],
    ["a bad NameType ('/')", (xml) => xml.replace('<Parameter name="count"', '<Parameter name="a/count"')],
    ["a bad NameType (space)", (xml) => xml.replace('<MetaCommand name="add"', '<MetaCommand name="add one"')],
    ["the wrong order (ParameterSet before ParameterTypeSet)", (xml) => {
      const start = xml.indexOf("<ParameterTypeSet>");
      const end = xml.indexOf("</ParameterTypeSet>") + "</ParameterTypeSet>".length;
      const setStart = xml.indexOf("<ParameterSet>", end);
      const setEnd = xml.indexOf("</ParameterSet>", setStart) + "</ParameterSet>".length;
      return xml.slice(0, start) + xml.slice(setStart, setEnd) + xml.slice(end, setStart) + xml.slice(start, end) + xml.slice(setEnd);
    }],
    ["the wrong order (DefaultSignificance before CommandContainer)", (xml) => xml.replace(/(<CommandContainer name="reset_packet"[\s\S]*?<\/CommandContainer>)(\s*)(<DefaultSignificance[^>]*\/>)/, "$3$2$1")],
    ["an unknown element", (xml) => xml.replace("<ParameterSet>", "<ParameterSet><Bogus/>")],
    ["a bad value (sizeInBits 0)", (xml) => xml.replace('binaryValue="01" sizeInBits="1"', 'binaryValue="01" sizeInBits="0"')],
    ["a bad hexBinary", (xml) => xml.replace('binaryValue="07F0"', 'binaryValue="7F0"')],
    ["a dangling argumentTypeRef", (xml) => xml.replace('argumentTypeRef="add_amount_type"', 'argumentTypeRef="no_such_type"')],
    ["a duplicate parameter name", (xml) => xml.replace('<Parameter name="overLimit"', '<Parameter name="count"')],
    ["an ArgumentRefEntry to no argument", (xml) => xml.replace('<ArgumentRefEntry argumentRef="protobuf-argument"', '<ArgumentRefEntry argumentRef="missing"')],
    ["the wrong namespace", (xml) => xml.replace('xmlns="http://www.omg.org/spec/XTCE/20180204"', 'xmlns="http://www.omg.org/space/xtce"')],
  ];
  for (const [what, breakIt] of broken) {
    it(`refuses ${what}`, async () => {
      const xml = breakIt(realXml);
      expect(xml).not.toBe(realXml);
      const r = await validate(xml);
      expect(r.valid).toBe(false);
      expect(r.errors.length).toBeGreaterThan(0);
    });
  }
});

describe("names and text", () => {
  const NAME_TYPE = /^[^./:[\] \t\n\r]+$/;

  it("maps names deterministically and reversibly into NameType", () => {
    expect(xtceName("counter")).toBe("counter");
    expect(xtceName("payload.ttc")).toBe("payload~2Ettc");
    expect(xtceName("a/b:c[d] e~f")).toBe("a~2Fb~3Ac~5Bd~5D~20e~7Ef");
    expect(xtceName("")).toBe("~");
    expect(xtceName("température")).toBe("température");
    expect(xtceName("x\u0000y\uFFFE")).toBe("x~00y~uFFFE");
    expect(xtceName("\uD800")).toBe("~uD800");
    expect(xtceName("😀.")).toBe("😀~2E");
  });

  it("property: every string maps to a NameType that maps back to it", () => {
    const anyUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 40 });
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), anyUnits, fc.constantFrom("", "~", "~2E", ".", "a~7E")), (s) => {
        const n = xtceName(s);
        expect(n).toMatch(NAME_TYPE);
        expect(fromXtceName(n)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });

  it("escapes hostile names and text, and the document stays valid", async () => {
    const hostile = `<evil> & "quoted" 'single' ]]> </SpaceSystem> ünïcödé 😀 \u0001\uFFFF\uD800 tab\tnewline\n.`;
    const d: Declaration = {
      name: "payload.ttc/x:y",
      apid: 0x123,
      description: hostile,
      commands: [
        { name: hostile, argumentType: "umbra.examples.v1.CounterAdd", critical: true, description: hostile, arguments: [{ field: "amount", hasMin: true, min: -5, hasMax: true, max: 5, allowed: [], nonZero: false }] },
        { name: "go", argumentType: "no.such.Type", critical: false, description: "", arguments: [] },
      ],
      telemetry: [
        { name: hostile, type: umbra.core.v1.ValueType.VALUE_TYPE_FLOAT, unit: "<°C & \"K\">", description: hostile, warning: { hasLow: true, low: -1, hasHigh: true, high: 1 }, critical: null },
        { name: "event", type: umbra.core.v1.ValueType.VALUE_TYPE_BOOL, unit: "", description: "a parameter named like the events", warning: null, critical: null },
      ],
      events: [
        { id: 1, name: hostile, severity: umbra.core.v1.Severity.SEVERITY_HIGH, description: hostile },
        { id: 2, name: hostile, severity: umbra.core.v1.Severity.SEVERITY_MEDIUM, description: "same name, other id" },
      ],
      parameters: [],
    };
    const xml = exportXtce([d], { name: "Ümbra <root>" });
    await expectValid(xml);
    expect(xml).toContain('<SpaceSystem name="payload~2Ettc~2Fx~3Ay"');
    expect(xml).toContain('<Alias nameSpace="umbra-service" alias="payload.ttc/x:y"/>');
    expect(xml).toContain('name="Ümbra~20&lt;root&gt;"');
    expect(xml).toContain("&lt;evil&gt; &amp; &quot;quoted&quot;");
    expect(xml).toContain("<Unit>&lt;°C &amp; \"K\"&gt;</Unit>");
    expect(xml).not.toMatch(/[\u0001\uFFFF]/);
    expect(xml).toContain("\uFFFD"); // what XML cannot carry is replaced
    expect(xml).not.toContain("</SpaceSystem> ü"); // the fake end tag is escaped
    expect(xml).toContain('<Parameter name="event~2"'); // the events' parameter does not take a telemetry name
    expect(xml).toContain("argument type no.such.Type is not known to this dictionary");
  });
});

describe("reflection", () => {
  // A descriptor with what the real messages do not all have: a recursive
  // message, a map, a repeated message inside a repeated message, an enum
  // alias, an empty message, every scalar, and names resolved by scope.
  const descriptor = {
    nested: {
      t: {
        nested: {
          Mode: { values: { MODE_A: 0, MODE_B: 1, MODE_ALIAS: 1 } },
          Empty: { fields: {} },
          Node: { fields: { label: { type: "string", id: 1 }, children: { rule: "repeated", type: "Node", id: 2 } } },
          Inner: { fields: { tags: { rule: "repeated", type: "string", id: 1 } } },
          Everything: {
            nested: { Local: { fields: { x: { type: "sfixed32", id: 1 } } } },
            fields: {
              i32: { type: "int32", id: 1 },
              u32: { type: "uint32", id: 2 },
              s64: { type: "sint64", id: 3 },
              f64: { type: "fixed64", id: 4 },
              d: { type: "double", id: 5 },
              f: { type: "float", id: 6 },
              b: { type: "bool", id: 7 },
              s: { type: "string", id: 8 },
              raw: { type: "bytes", id: 9 },
              mode: { type: "Mode", id: 10 },
              node: { type: "Node", id: 11 },
              counts: { keyType: "string", type: "uint32", id: 12 },
              inners: { rule: "repeated", type: "Inner", id: 13 },
              empty: { type: "Empty", id: 14 },
              local: { type: "Local", id: 15 },
              qualified: { type: "t.Mode", id: 16 },
            },
          },
        },
      },
    },
  };
  const root = new DescriptorReflection(descriptor);
  const decl = (rules: Declaration["commands"][number]["arguments"]): Declaration => ({
    name: "probe",
    apid: 0x300,
    description: "reflection probe",
    commands: [{ name: "everything", argumentType: "t.Everything", critical: false, description: "all field kinds", arguments: rules }],
    telemetry: [],
    events: [],
    parameters: [],
  });

  it("maps every protobuf field kind, and the result validates", async () => {
    const xml = exportXtce([decl([])], { root });
    await expectValid(xml);
    expect(xml).toMatch(/<IntegerArgumentType name="everything_i32_type"[^>]*sizeInBits="32" signed="true"\/>/);
    expect(xml).toMatch(/<IntegerArgumentType name="everything_u32_type"[^>]*sizeInBits="32" signed="false"\/>/);
    expect(xml).toMatch(/<IntegerArgumentType name="everything_s64_type"[^>]*sizeInBits="64" signed="true"\/>/);
    expect(xml).toMatch(/<IntegerArgumentType name="everything_f64_type"[^>]*sizeInBits="64" signed="false"\/>/);
    expect(xml).toMatch(/<FloatArgumentType name="everything_d_type"[^>]*sizeInBits="64"\/>/);
    expect(xml).toMatch(/<FloatArgumentType name="everything_f_type"[^>]*sizeInBits="32"\/>/);
    expect(xml).toContain('<BooleanArgumentType name="everything_b_type"');
    expect(xml).toContain('<StringArgumentType name="everything_s_type"');
    expect(xml).toContain('<BinaryArgumentType name="everything_raw_type"');
    // enum, its alias dropped (one label per value)
    expect(xml).toMatch(/<EnumeratedArgumentType name="everything_mode_type"[^>]*>\s*<EnumerationList>\s*<Enumeration value="0" label="MODE_A"\/>\s*<Enumeration value="1" label="MODE_B"\/>\s*<\/EnumerationList>/);
    expect(xml).toContain('<EnumeratedArgumentType name="everything_qualified_type"');
    // recursion stops: Node.children is an array of Node, whose own children are carried as protobuf
    expect(xml).toMatch(/<BinaryArgumentType name="everything_node_children_element_type" shortDescription="[^"]*recursive message/);
    // a map is an array of key/value aggregates
    expect(xml).toMatch(/<AggregateArgumentType name="everything_counts_entry_type"[^>]*>\s*<MemberList>\s*<Member name="key"[^>]*typeRef="everything_counts_key_type"\/>\s*<Member name="value"[^>]*typeRef="everything_counts_value_type"\/>/);
    expect(xml).toContain('<Argument name="counts-count"');
    // a repeated field inside an array element is carried protobuf-encoded
    expect(xml).toMatch(/<BinaryArgumentType name="everything_inners_element_tags_type" shortDescription="[^"]*inside an array element/);
    expect(xml).toMatch(/<BinaryArgumentType name="everything_empty_type" shortDescription="[^"]*message with no fields/);
    // a nested type found by scope
    expect(xml).toMatch(/<IntegerArgumentType name="everything_local_x_type"[^>]*sizeInBits="32" signed="true"\/>/);
  });

  it("turns ArgumentRules into valid ranges and restriction patterns", async () => {
    const rule = (field: string, r: Partial<Declaration["commands"][number]["arguments"][number]>) => ({ field, hasMin: false, min: 0, hasMax: false, max: 0, allowed: [], nonZero: false, ...r });
    const xml = exportXtce(
      [
        decl([
          rule("u32", { nonZero: true }),
          rule("i32", { hasMin: true, min: -2.5, hasMax: true, max: 7.9 }),
          rule("i32", { hasMax: true, max: 5 }), // rules on one field intersect
          rule("d", { hasMin: true, min: -1, nonZero: true }),
          rule("s", { allowed: ["a.b", "c|d"] }),
          rule("f64", { hasMax: true, max: 1e30 }), // beyond xs:long: clamped
          rule("nosuchfield", { hasMin: true, min: 1 }),
        ]),
      ],
      { root },
    );
    await expectValid(xml);
    expect(xml).toMatch(/name="everything_u32_type"[^>]*>\s*<ValidRangeSet>\s*<ValidRange minInclusive="1" maxInclusive="4294967295"\/>\s*<\/ValidRangeSet>/);
    expect(xml).toMatch(/name="everything_i32_type"[^>]*>\s*<ValidRangeSet>\s*<ValidRange minInclusive="-2" maxInclusive="5"\/>/);
    expect(xml).toMatch(/name="everything_d_type"[^>]*>\s*<ValidRangeSet>\s*<ValidRange minInclusive="-1" maxExclusive="0"\/>\s*<ValidRange minExclusive="0"\/>/);
    expect(xml).toContain('<StringArgumentType name="everything_s_type" shortDescription="s: string" restrictionPattern="(a\\.b|c\\|d)"/>');
    expect(xml).toMatch(/name="everything_f64_type"[^>]*>\s*<ValidRangeSet>\s*<ValidRange minInclusive="0" maxInclusive="9223372036854775807"\/>/);
  });

  it("reads the generated descriptor of @umbra/proto by default", () => {
    const r = umbraReflection();
    const t = r.lookup("umbra.ttc.v1.ContactSchedule") as { fieldsArray: { name: string; repeated: boolean }[] };
    expect(t.fieldsArray.map((f) => [f.name, f.repeated])).toEqual([["windows", true]]);
    expect(r.lookup("umbra.no.Such")).toBeNull();
  });
});

describe("property: random declarations", () => {
  const text = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 20 }),
    fc.constantFrom("", ".", "a.b", "event", "protobuf-argument", "x~2", "<&>\"'", "count"),
  );
  const num = fc.oneof(fc.double(), fc.integer({ min: -1e6, max: 1e6 }), fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1e300, 2 ** 64));
  const limits = fc.option(fc.record({ hasLow: fc.boolean(), low: num, hasHigh: fc.boolean(), high: num }), { nil: null });
  const rule = fc.record({ field: fc.oneof(text, fc.constantFrom("amount", "apid", "function", "windows", "jobId", "priority", "output")), hasMin: fc.boolean(), min: num, hasMax: fc.boolean(), max: num, allowed: fc.array(text, { maxLength: 3 }), nonZero: fc.boolean() });
  const argumentType = fc.oneof(
    fc.constantFrom("umbra.examples.v1.CounterAdd", "umbra.examples.v1.CounterReset", "umbra.ttc.v1.ArmCommand", "umbra.ttc.v1.ContactSchedule", "umbra.jobs.v1.SubmitJob", "umbra.jobs.v1.ListJobs", "umbra.core.v1.ServiceDeclaration", "umbra.core.v1.Event", "umbra.core.v1.Value"),
    text,
  );
  const declaration: fc.Arbitrary<Declaration> = fc.record({
    name: text,
    apid: fc.oneof(fc.integer({ min: 0, max: 2047 }), fc.nat({ max: 2 ** 32 - 1 })),
    description: text,
    commands: fc.array(fc.record({ name: text, argumentType, critical: fc.boolean(), description: text, arguments: fc.array(rule, { maxLength: 4 }) }), { maxLength: 4 }),
    telemetry: fc.array(fc.record({ name: text, type: fc.integer({ min: -1, max: 6 }) as fc.Arbitrary<umbra.core.v1.ValueType>, unit: text, description: text, warning: limits, critical: limits }), { maxLength: 5 }),
    events: fc.array(fc.record({ id: fc.nat({ max: 2 ** 32 - 1 }), name: text, severity: fc.integer({ min: -1, max: 6 }) as fc.Arbitrary<umbra.core.v1.Severity>, description: text }), { maxLength: 4 }),
    parameters: fc.constant([]),
  });

  it("always gives schema-valid XML", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(declaration, { maxLength: 3 }), fc.option(text, { nil: undefined }), async (decls, name) => {
        const xml = exportXtce(decls, name === undefined ? {} : { name });
        const r = await validate(xml);
        if (!r.valid) throw new Error(`invalid export:\n${r.errors.slice(0, 5).join("\n")}`);
      }),
      { numRuns: 50 },
    );
  }, 120_000);
});

describe("against the official XTCE 1.2 schema", () => {
  const official = process.env["UMBRA_XTCE_XSD"];
  it.skipIf(!official)(
    "validates the real services' export against the official SpaceSystem.xsd named by UMBRA_XTCE_XSD (skipped when UMBRA_XTCE_XSD is not set)",
    async () => {
      // The official schema imports the W3C xml.xsd over HTTP (for xml:base);
      // xmllint here has no network, so a minimal local stand-in declaring the
      // xml: attributes is given in its place.
      const xsd = readFileSync(official!, "utf8").replace(/schemaLocation="http:\/\/www\.w3\.org\/2001\/03\/xml\.xsd"/, 'schemaLocation="xml.xsd"');
      const xmlXsd = `<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.w3.org/XML/1998/namespace">
  <xs:attribute name="base" type="xs:anyURI"/>
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="space"><xs:simpleType><xs:restriction base="xs:NCName"><xs:enumeration value="default"/><xs:enumeration value="preserve"/></xs:restriction></xs:simpleType></xs:attribute>
  <xs:attribute name="id" type="xs:ID"/>
</xs:schema>`;
      const r = await validateXML({ xml: { fileName: "export.xml", contents: realXml }, schema: { fileName: "SpaceSystem.xsd", contents: xsd }, preload: [{ fileName: "xml.xsd", contents: xmlXsd }] });
      expect(r.errors.map((e) => e.rawMessage)).toEqual([]);
      expect(r.valid).toBe(true);
    },
  );
});
