// A region's cluster: a new EKS cluster (version, nodes, network, autoscaler) or one that already exists.

import { Checker, describe } from "./checker";
import { checkKubernetesVersion, parseClusterAutoscaler } from "./clusterVersions";
import { parseCidr } from "./network";
import { ClusterConfig, CreateClusterConfig } from "./types";
import { DEFAULT_KUBERNETES_VERSION } from "./versions";

/** Graviton instance families (t4g, m7g, c7gn, ...) run arm64; the g-series GPU instances (g5, ...) do not. */
export function isGraviton(instanceType: string): boolean {
    return /^[a-z]+[0-9]+[a-z]*g[a-z]*\./.test(instanceType) && !/^g[0-9]/.test(instanceType);
}

export function parseCluster(c: Checker, at: string, v: unknown): ClusterConfig | undefined {
    const o = c.object(at, v, ["create", "existing"]);
    if (!o) { return undefined; }
    if ((o.create === undefined) === (o.existing === undefined)) {
        c.add(at, "needs exactly one of create (a new EKS cluster) or existing (a cluster you already run)");
        return undefined;
    }
    if (o.create !== undefined) {
        const cr = c.object(`${at}.create`, o.create, [
            "kubernetesVersion", "instanceTypes", "nodes", "availabilityZones", "vpcCidr", "diskSizeGb", "clusterAutoscaler",
            "natGateways", "interfaceEndpoints",
        ]);
        if (!cr) { return undefined; }
        const kubernetesVersion = checkKubernetesVersion(c, `${at}.create.kubernetesVersion`, cr.kubernetesVersion === undefined
            ? DEFAULT_KUBERNETES_VERSION
            : c.string(`${at}.create.kubernetesVersion`, typeof cr.kubernetesVersion === "number" ? String(cr.kubernetesVersion) : cr.kubernetesVersion,
                { pattern: /^1\.[0-9]{2}$/, expected: "an EKS Kubernetes version such as \"1.35\" (quote it in YAML: 1.30 unquoted reads as 1.3)" }));
        const types = cr.instanceTypes === undefined ? ["t3.medium"] : c.array(`${at}.create.instanceTypes`, cr.instanceTypes);
        let instanceTypes: string[] | undefined;
        if (types) {
            if (types.length === 0) { c.add(`${at}.create.instanceTypes`, "is empty (expected at least one EC2 instance type)"); }
            const parsed = types.map((t, j) => c.string(`${at}.create.instanceTypes[${j}]`, t, {
                pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, expected: "an EC2 instance type such as t3.medium",
            }));
            instanceTypes = parsed.every((t) => t !== undefined) && parsed.length > 0 ? parsed as string[] : undefined;
        }
        const n = c.object(`${at}.create.nodes`, cr.nodes, ["min", "desired", "max"]);
        let nodes: CreateClusterConfig["nodes"] | undefined;
        if (n) {
            const min = c.integer(`${at}.create.nodes.min`, n.min, 1, 450);
            const max = c.integer(`${at}.create.nodes.max`, n.max, 1, 450);
            const desired = c.integer(`${at}.create.nodes.desired`, n.desired, 1, 450, min);
            if (min !== undefined && max !== undefined && desired !== undefined) {
                if (min > max) {
                    c.add(`${at}.create.nodes.min`, `${min} is greater than nodes.max (${max})`);
                } else if (desired < min || desired > max) {
                    c.add(`${at}.create.nodes.desired`, `${desired} is not between nodes.min (${min}) and nodes.max (${max})`);
                } else {
                    nodes = { min, desired, max };
                }
            }
        }
        const availabilityZones = c.integer(`${at}.create.availabilityZones`, cr.availabilityZones, 2, 6, 2);
        const vpcCidr = cr.vpcCidr === undefined ? "10.0.0.0/16" : c.string(`${at}.create.vpcCidr`, cr.vpcCidr, { expected: "an IPv4 CIDR from /16 to /20, e.g. 10.0.0.0/16" });
        let cidrOk = vpcCidr !== undefined;
        if (vpcCidr !== undefined) {
            const p = parseCidr(vpcCidr);
            if (!p || p.prefix < 16 || p.prefix > 20) {
                c.add(`${at}.create.vpcCidr`, `${describe(vpcCidr)} is not an IPv4 network from /16 to /20 (expected e.g. 10.0.0.0/16; each AZ gets a sixteenth of it)`);
                cidrOk = false;
            }
        }
        const diskSizeGb = c.integer(`${at}.create.diskSizeGb`, cr.diskSizeGb, 20, 16384, 20);
        const clusterAutoscaler = parseClusterAutoscaler(c, `${at}.create.clusterAutoscaler`, cr.clusterAutoscaler, kubernetesVersion, nodes);
        const natGateways = c.oneOf(`${at}.create.natGateways`, cr.natGateways, ["perZone", "one"] as const, "perZone");
        const interfaceEndpoints = c.boolean(`${at}.create.interfaceEndpoints`, cr.interfaceEndpoints, false);
        // With the autoscaler, each zone has its own node group (so a zone-spread pod can make its zone grow), and
        // each group needs room for at least one node.
        if (clusterAutoscaler?.enabled && nodes && availabilityZones && nodes.max < availabilityZones) {
            c.add(`${at}.create.nodes.max`, `${nodes.max} is less than availabilityZones (${availabilityZones}); with the Cluster Autoscaler each zone has its own node group, which needs a maximum of at least one node`);
            return undefined;
        }
        if (!kubernetesVersion || !instanceTypes || !nodes || !availabilityZones || !cidrOk || !vpcCidr || !diskSizeGb ||
            !clusterAutoscaler || !natGateways) {
            return undefined;
        }
        return {
            create: {
                kubernetesVersion, instanceTypes, nodes, availabilityZones, vpcCidr, diskSizeGb, clusterAutoscaler, natGateways,
                interfaceEndpoints,
            },
        };
    }
    const ex = c.object(`${at}.existing`, o.existing, ["clusterName", "kubeconfig", "oidcIssuer"]);
    if (!ex) { return undefined; }
    const clusterName = c.string(`${at}.existing.clusterName`, ex.clusterName, {
        required: false, pattern: /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, expected: "an EKS cluster name",
    });
    const kubeconfig = c.string(`${at}.existing.kubeconfig`, ex.kubeconfig, { required: false, expected: "a kubeconfig document" });
    const oidcIssuer = c.string(`${at}.existing.oidcIssuer`, ex.oidcIssuer, {
        required: false, pattern: /^https:\/\/[^\s/]+(\/[^\s]*)?$/, expected: "the cluster's OIDC issuer URL, https://oidc.eks.<region>.amazonaws.com/id/<ID>",
    });
    if ((ex.clusterName === undefined) === (ex.kubeconfig === undefined)) {
        c.add(`${at}.existing`, "needs exactly one of clusterName (looked up in this region) or kubeconfig");
        return undefined;
    }
    if (ex.kubeconfig !== undefined && ex.oidcIssuer === undefined) {
        c.add(`${at}.existing.oidcIssuer`, "is required with kubeconfig: the edge service account's IAM role (IRSA) trusts this issuer");
        return undefined;
    }
    if ((ex.clusterName !== undefined && !clusterName) || (ex.kubeconfig !== undefined && !kubeconfig) ||
        (ex.oidcIssuer !== undefined && !oidcIssuer)) {
        return undefined;
    }
    return { existing: { clusterName, kubeconfig, oidcIssuer } };
}
