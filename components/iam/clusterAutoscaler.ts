// The Cluster Autoscaler's permissions, scoped by the tags auto-discovery finds a cluster's node groups by.

/** The Auto Scaling group tags auto-discovery looks for (EKS puts both on a managed node group's group). */
export function autoDiscoveryTags(clusterName: string): Record<string, string> {
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        [`k8s.io/cluster-autoscaler/${clusterName}`]: "owned",
    };
}

/**
 * The autoscaler's permissions, after the least-privilege policy in the EKS best-practices guide
 * (aws.github.io/aws-eks-best-practices/cluster-autoscaling): it may change the size of, or terminate instances in,
 * only Auto Scaling groups in this account and region that carry this cluster's auto-discovery tags; it may describe
 * node groups of this cluster only; the Describe* calls it needs to find groups and instance types do not support
 * resource-level permissions, so they stay on "*".
 */
export function clusterAutoscalerPolicy(clusterName: string, region: string, accountId: string): string {
    const tagConditions = Object.fromEntries(Object.entries(autoDiscoveryTags(clusterName))
        .map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ResizeThisClustersNodeGroups",
                Effect: "Allow",
                Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                Resource: `arn:aws:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/*`,
                Condition: { StringEquals: tagConditions },
            },
            {
                Sid: "DescribeThisClustersNodeGroups",
                Effect: "Allow",
                Action: ["eks:DescribeNodegroup"],
                Resource: `arn:aws:eks:${region}:${accountId}:nodegroup/${clusterName}/*`,
            },
            {
                Sid: "DiscoverGroupsAndInstanceTypes",
                Effect: "Allow",
                Action: [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                Resource: "*",
            },
        ],
    });
}
