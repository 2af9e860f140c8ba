// The IAM policy documents the components attach: pure functions from names and ARNs to JSON, kept apart from the
// components so each can be read (and reviewed for least privilege) on its own, and no component imports another
// for a policy.

export { autoDiscoveryTags, clusterAutoscalerPolicy } from "./clusterAutoscaler";
export { edgeReadPolicy } from "./edgeRead";
export { edgeInvalidationLogPolicy, invalidatorPolicy } from "./invalidationLog";
export { irsaTrustPolicy, serviceTrustPolicy } from "./irsa";
export { awsLoadBalancerControllerPolicy } from "./loadBalancerController";
export { logShipperPolicy, metricsRemoteWritePolicy } from "./observability";
export { replicationPolicy, replicationTrustPolicy, tlsOnlyPolicy } from "./s3";
