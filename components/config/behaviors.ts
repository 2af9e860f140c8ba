// Cache behaviors: the stack config's behaviors are the edge node's own (they are rendered unchanged), so each is
// checked against the node's JSON Schema (`$defs/behavior`) and then by the node's rules the schema cannot express
// (edgeRules.ts): the default last, the origin named, the TTLs in order.

import { Checker } from "./checker";
import { behaviorRuleErrors } from "./edgeRules";
import { schemaErrors } from "./edgeSchema";
import { Behavior } from "./types";

export function parseBehaviors(c: Checker, v: unknown, originNames: string[] | undefined): Behavior[] | undefined {
    const list = c.array("behaviors", v);
    if (!list) { return undefined; }
    if (list.length === 0) {
        c.add("behaviors", "is empty (expected at least one behavior; the last one is the default and must have pathPattern '*')");
        return undefined;
    }
    const before = c.errors.length;
    list.forEach((item, i) => c.errors.push(...schemaErrors(`behaviors[${i}]`, item, "behavior")));
    c.errors.push(...behaviorRuleErrors(list, originNames));
    return c.errors.length === before ? list as Behavior[] : undefined;
}
