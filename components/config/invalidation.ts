// The nodes' part in the fleet's invalidation log (the stack always creates the control bucket): how often they poll
// it, how long a starting node waits to catch up, how often it writes its heartbeat. The ranges are the edge
// server's (edgecache.schema.json, `invalidation`).

import { Checker } from "./checker";
import { InvalidationSettings } from "./types";

export const INVALIDATION_DEFAULTS: InvalidationSettings = { pollSeconds: 1, startTimeoutSeconds: 10, heartbeatSeconds: 30 };

export function parseInvalidation(c: Checker, v: unknown): InvalidationSettings | undefined {
    const o = v === undefined ? {} : c.object("invalidation", v, ["pollSeconds", "startTimeoutSeconds", "heartbeatSeconds"]);
    if (!o) { return undefined; }
    const pollSeconds = c.integer("invalidation.pollSeconds", o.pollSeconds, 1, 3600, INVALIDATION_DEFAULTS.pollSeconds);
    const startTimeoutSeconds = c.integer("invalidation.startTimeoutSeconds", o.startTimeoutSeconds, 0, 600, INVALIDATION_DEFAULTS.startTimeoutSeconds);
    const heartbeatSeconds = c.integer("invalidation.heartbeatSeconds", o.heartbeatSeconds, 1, 3600, INVALIDATION_DEFAULTS.heartbeatSeconds);
    if (pollSeconds === undefined || startTimeoutSeconds === undefined || heartbeatSeconds === undefined) { return undefined; }
    return { pollSeconds, startTimeoutSeconds, heartbeatSeconds };
}
