// One region's ACM certificate, DNS-validated through the hosted zone. Its own component (rather than part of
// LatencyDns) because the region's NLB needs the certificate before the load balancer, and so the DNS records, exist.

import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface EdgeCertificateArgs {
    region: string;
    zoneId: pulumi.Input<string>;
    /** The viewer domain (the certificate's first name). */
    domain: string;
    /** More names the certificate covers (the region's own names). */
    alternativeNames: string[];
    tags?: Record<string, string>;
}

export class EdgeCertificate extends pulumi.ComponentResource {
    /** ARN of the certificate, available once it is validated. */
    public readonly certificateArn: pulumi.Output<string>;

    constructor(name: string, args: EdgeCertificateArgs, opts?: pulumi.ComponentResourceOptions) {
        if (args.alternativeNames.includes(args.domain)) {
            throw new Error(`EdgeCertificate: ${args.domain} is both the domain and an alternative name`);
        }
        super("edgecdn:index:EdgeCertificate", name, {}, opts);

        const cert = new aws.acm.Certificate(name, {
            region: args.region,
            domainName: args.domain,
            subjectAlternativeNames: args.alternativeNames,
            validationMethod: "DNS",
            tags: args.tags,
        }, { parent: this });

        const records = [args.domain, ...args.alternativeNames].map((domainName, i) => {
            const option = cert.domainValidationOptions.apply((opts) => {
                const found = opts.find((o) => o.domainName === domainName);
                if (!found) { throw new Error(`ACM returned no validation record for ${domainName}`); }
                return found;
            });
            return new aws.route53.Record(`${name}-validation-${i}`, {
                zoneId: args.zoneId,
                name: option.resourceRecordName,
                type: option.resourceRecordType,
                records: [option.resourceRecordValue],
                ttl: 300,
                // ACM gives every region's certificate the same record for the shared viewer domain: each region
                // writes it (allowOverwrite) and none deletes it, so removing one region cannot break the renewal
                // of the others.
                allowOverwrite: true,
            }, { parent: this, retainOnDelete: true });
        });

        const validation = new aws.acm.CertificateValidation(name, {
            region: args.region,
            certificateArn: cert.arn,
            validationRecordFqdns: records.map((r) => r.fqdn),
        }, { parent: this });

        this.certificateArn = validation.certificateArn;
        this.registerOutputs({ certificateArn: this.certificateArn });
    }
}
