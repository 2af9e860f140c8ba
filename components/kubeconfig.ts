// The kubeconfig the stack reaches an EKS cluster with, as the identity its AWS provider uses.

export interface KubeconfigCredentials {
    /** A named AWS CLI profile (aws:profile), passed to get-token as AWS_PROFILE. */
    profile?: string;
    /** A role to assume (the last of aws:assumeRoles), passed to get-token as --role-arn. */
    roleArn?: string;
}

/**
 * A kubeconfig that authenticates with `aws eks get-token` (short-lived tokens, nothing long-lived in state), as the
 * same identity the stack's AWS provider uses: its profile and assumed role, as pulumi-eks passes them. Without them
 * get-token would use whatever default credentials the shell has, and Kubernetes calls could run as someone else.
 */
export function eksKubeconfig(clusterName: string, region: string, endpoint: string, caData: string,
    credentials: KubeconfigCredentials = {}): string {
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
        users: [{
            name: clusterName,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "aws",
                    args: [
                        "eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json",
                        ...(credentials.roleArn ? ["--role-arn", credentials.roleArn] : []),
                    ],
                    ...(credentials.profile ? { env: [{ name: "AWS_PROFILE", value: credentials.profile }] } : {}),
                },
            },
        }],
    });
}
