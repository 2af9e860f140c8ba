// What the fleet's metrics agents and log shippers may do: write metrics to one workspace, and put objects under
// their own region's prefix of the log bucket. Nothing else, not even reading back.

/** aps:RemoteWrite on this workspace only (the managed AmazonPrometheusRemoteWriteAccess allows every workspace). */
export function metricsRemoteWritePolicy(workspaceArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "RemoteWriteToTheFleetWorkspace", Effect: "Allow", Action: "aps:RemoteWrite", Resource: workspaceArn }],
    });
}

/** s3:PutObject under `<bucket>/<prefix>` only: a region's shipper cannot write (or read) another region's logs. */
export function logShipperPolicy(bucketArn: string, prefix: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "PutThisRegionsAccessLogs", Effect: "Allow", Action: "s3:PutObject", Resource: `${bucketArn}/${prefix}*` }],
    });
}
