"""Writes into moto what AWS gives every account and moto 5.2.5 does not:
the default network ACL of a VPC with an IPv6 block allows all IPv6 traffic
in and out (rule 101, "Default network ACL" in the Amazon VPC User Guide).
Talks to AWS_ENDPOINT_URL only (the demo's moto on loopback)."""

import os

import boto3

ec2 = boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
# moto keeps the default ACLs of deleted VPCs: only those of live VPCs count.
ipv6_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("Ipv6CidrBlockAssociationSet")}
for acl in ec2.describe_network_acls(Filters=[{"Name": "default", "Values": ["true"]}])["NetworkAcls"]:
    if acl["VpcId"] not in ipv6_vpcs or any(e["RuleNumber"] == 101 for e in acl["Entries"]):
        continue
    for egress in (False, True):
        ec2.create_network_acl_entry(
            NetworkAclId=acl["NetworkAclId"], RuleNumber=101, Egress=egress,
            Protocol="-1", RuleAction="allow", Ipv6CidrBlock="::/0",
        )
    print("added AWS's IPv6 allow entries (rule 101) to", acl["NetworkAclId"])
