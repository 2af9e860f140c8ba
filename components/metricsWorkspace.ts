// Where the fleet's metrics meet: an Amazon Managed Service for Prometheus workspace in the primary region (or one
// that exists), and the alert rules (observability/alerts.template.yml with the stack's thresholds) loaded into it
// as a rule group namespace, which the workspace's ruler evaluates.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlertThresholds } from "./config";
import { renderAlertRules } from "./observabilityFiles";

export interface MetricsWorkspaceArgs {
    /** The workspace's region: the stack's primary region, or an existing workspace's. */
    region: string;
    /** An existing workspace's id; absent: the stack creates one. */
    existingWorkspaceId?: string;
    accountId: pulumi.Input<string>;
    thresholds: AlertThresholds;
    tags?: Record<string, string>;
}

export class MetricsWorkspace extends pulumi.ComponentResource {
    public readonly workspaceId: pulumi.Output<string>;
    public readonly workspaceArn: pulumi.Output<string>;
    /** https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/ */
    public readonly endpoint: pulumi.Output<string>;
    /** Where the agents send: <endpoint>api/v1/remote_write (SigV4). */
    public readonly remoteWriteUrl: pulumi.Output<string>;
    /** Prometheus's query API of the workspace (SigV4): what Grafana's data source and awscurl use. */
    public readonly queryUrl: pulumi.Output<string>;
    /** The rule file loaded into the workspace. */
    public readonly alertRules: string;

    constructor(name: string, args: MetricsWorkspaceArgs, opts?: pulumi.ComponentResourceOptions) {
        const alertRules = renderAlertRules(args.thresholds);
        super("edgecdn:index:MetricsWorkspace", name, {}, opts);
        const parent = { parent: this };

        if (args.existingWorkspaceId === undefined) {
            const workspace = new aws.amp.Workspace(`${name}-workspace`, {
                region: args.region,
                alias: name,
                tags: args.tags,
            }, parent);
            this.workspaceId = workspace.id;
            this.workspaceArn = workspace.arn;
        } else {
            this.workspaceId = pulumi.output(args.existingWorkspaceId);
            this.workspaceArn = pulumi.interpolate`arn:aws:aps:${args.region}:${args.accountId}:workspace/${args.existingWorkspaceId}`;
        }
        this.endpoint = pulumi.interpolate`https://aps-workspaces.${args.region}.amazonaws.com/workspaces/${this.workspaceId}/`;
        this.remoteWriteUrl = pulumi.interpolate`${this.endpoint}api/v1/remote_write`;
        this.queryUrl = pulumi.interpolate`${this.endpoint}api/v1/query`;
        this.alertRules = alertRules;

        new aws.amp.RuleGroupNamespace(`${name}-alerts`, {
            region: args.region,
            name: "edgecdn",
            workspaceId: this.workspaceId,
            data: alertRules,
        }, parent);

        this.registerOutputs({ workspaceId: this.workspaceId, workspaceArn: this.workspaceArn, queryUrl: this.queryUrl });
    }
}
