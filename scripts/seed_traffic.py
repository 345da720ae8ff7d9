"""Writes the flow-log records AWS would deliver for the seed's traffic.

moto creates flow logs but never delivers records, so the demo writes them
itself, in AWS's default format, one log stream per network interface, as
the flow-logs service would: pings between the instances both ways, an SSH
session from the internet, a rejected RDP attempt, and a NODATA interval.
Runs against the local moto only (AWS_ENDPOINT_URL on loopback).
"""
import os
import time

import boto3

endpoint = os.environ["AWS_ENDPOINT_URL"]
assert "127.0.0.1" in endpoint or "localhost" in endpoint, "only the local moto"
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")
logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
GROUP = "ProjectVPCFlowLogGroups"
ACCOUNT = "123456789012"


def instance(name):
    r = ec2.describe_instances(Filters=[
        {"Name": "tag:vpcform:address", "Values": [f"instance.{name}"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ])
    i = r["Reservations"][0]["Instances"][0]
    return i["NetworkInterfaces"][0]["NetworkInterfaceId"], i["PrivateIpAddress"]


eni1, ip1 = instance("instance-1")
eni2, ip2 = instance("instance-2")
now = int(time.time()) - 600
records = {eni1: [], eni2: []}


def record(eni, src, dst, sport, dport, proto, packets, nbytes, start, action):
    records[eni].append((start, f"2 {ACCOUNT} {eni} {src} {dst} {sport} {dport} {proto} {packets} {nbytes} {start} {start + 60} {action} OK"))


for minute in range(3):  # ping both ways: each side logs the request and the reply
    t = now + minute * 60
    record(eni1, ip1, ip2, 0, 0, 1, 4, 336, t, "ACCEPT")
    record(eni2, ip1, ip2, 0, 0, 1, 4, 336, t, "ACCEPT")
    record(eni2, ip2, ip1, 0, 0, 1, 4, 336, t, "ACCEPT")
    record(eni1, ip2, ip1, 0, 0, 1, 4, 336, t, "ACCEPT")
record(eni1, "198.51.100.7", ip1, 50122, 22, 6, 20, 4249, now + 200, "ACCEPT")  # SSH in
record(eni1, ip1, "198.51.100.7", 22, 50122, 6, 18, 5120, now + 200, "ACCEPT")
record(eni2, "203.0.113.99", ip2, 61001, 3389, 6, 3, 180, now + 260, "REJECT")  # RDP refused
records[eni2].append((now + 320, f"2 {ACCOUNT} {eni2} - - - - - - - {now + 320} {now + 380} - NODATA"))

for eni, lines in records.items():
    stream = f"{eni}-all"
    try:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    lines.sort()
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=[
        {"timestamp": start * 1000, "message": message} for start, message in lines
    ])
print(f"wrote {sum(len(v) for v in records.values())} flow-log records for {ip1} ({eni1}) and {ip2} ({eni2}) into {GROUP}")
