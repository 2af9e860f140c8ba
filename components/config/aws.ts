// What AWS offers and allows that the checks compare a stack config with: the regions the stack can run in and
// Route 53's limits.

/** AWS commercial regions (aws partition), where EKS, ECR, S3 replication and Route 53 latency routing all work. */
export const AWS_REGIONS: readonly string[] = [
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
    "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
];

/** Regions Route 53 health checkers run from (a health check needs at least three). */
export const HEALTH_CHECKER_REGIONS: readonly string[] = [
    "us-east-1", "us-west-1", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1",
];

/** Route 53: at most 100 latency records with the same name and type. */
export const MAX_LATENCY_RECORDS_PER_NAME_AND_TYPE = 100;

/** Route 53's default quota of health checks per AWS account. */
export const DEFAULT_HEALTH_CHECK_QUOTA = 200;
