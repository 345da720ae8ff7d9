#!/usr/bin/env bash
# The main job, as a new user would run it on a fresh machine: build vpcform,
# start a local moto server (loopback only), and walk topology.yaml through
# validate → reach (from the topology) → plan → apply → reach --live (the
# seed's step 8, and what a console change does to it) → plan (no changes)
# → a reviewed change (broadening, a group replaced through a stand-in)
# → the flow-log queries of step 9, explain, monitoring (alarms, topic,
# contributor rules, dashboard; `monitor test` on the recorded traffic) → destroy; then a production-shaped VPC
# (examples/production-vpc.yaml) applied, re-planned and asked about, and
# a transit hub (examples/transit-hub.yaml) with a pull request that breaks
# its segmentation; and one file as two environments (examples/environments.yaml)
# and a hub of 20 spokes from a blueprint (examples/spokes.yaml).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/moto.sh"
cd "$VPCFORM_ROOT"

log "building vpcform"
cargo build --quiet --bin vpcform
moto_start

# Prints each command (on stderr, so a filtered step still shows it) as it
# could be pasted into a shell (arguments quoted).
step() {
  local shown=()
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@-]+$ ]]; then shown+=("$a"); else shown+=("'${a//\'/\'\\\'\'}'"); fi
  done
  printf '\n\033[1;36m$ vpcform %s\033[0m\n' "${shown[*]}" >&2
  "$VPCFORM_BIN" "$@"
}

step validate -f topology.yaml
step graph -f topology.yaml --format mermaid | head -5 && echo "  ..."
log "the seed's step 8 (can instance-1 ping instance-2?), answered before anything exists"
step reach instance.instance-1 instance.instance-2 --protocol icmp
step plan -f topology.yaml --stats
step apply -f topology.yaml --auto-approve
log "the same question answered from the live account"
step reach instance.instance-1 instance.instance-2 --protocol icmp --live
log "someone deletes the route back to network-1 in the console (moto, on loopback)"
"$MOTO_VENV/bin/python" - <<'PY'
import os, boto3
ec2 = boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
table = ec2.describe_route_tables(Filters=[{"Name": "tag:vpcform:address", "Values": ["route-table.network-2-rt"]}])["RouteTables"][0]
ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock="10.1.0.0/16")
print("deleted 10.1.0.0/16 from", table["RouteTableId"])
PY
step reach instance.instance-1 instance.instance-2 --protocol icmp --live || echo "  (exit $?: not reachable, as it should be)"
log "plan shows the route as drift and the ping it cuts; apply puts it back"
step plan -f topology.yaml || true
step apply -f topology.yaml --auto-approve
step reach instance.instance-1 instance.instance-2 --protocol icmp --live
step plan -f topology.yaml --detailed-exitcode --stats
review="$(mktemp -d -t vpcform-review.XXXXXX)"
log "a pull request opens RDP to the world: the plan marks it broadening, adds a policy finding, and --deny-broadening fails"
sed '0,/      - { protocol: icmp, cidr: 0.0.0.0\/0, description: All ICMP }/s//&\n      - { protocol: tcp, port: 3389, cidr: 0.0.0.0\/0, description: RDP }/' topology.yaml >"$review/rdp.yaml"
step plan -f "$review/rdp.yaml" --format markdown | sed -n '/#### Security changes/,/#### Connectivity/p'
step plan -f "$review/rdp.yaml" --deny-broadening >/dev/null || echo "  (exit $?: a security review is required)"
log "a new description replaces instance-1-sg under its own name: a stand-in holds the instance meanwhile, and back again"
sed '0,/description: SSH and ICMP for connectivity tests/s//description: SSH and ICMP for the seed/' topology.yaml >"$review/description.yaml"
step apply -f "$review/description.yaml" --auto-approve 2>&1 | grep -E 'stand-in|Stand-in|security-group.instance-1-sg: |Apply complete'
step apply -f topology.yaml --auto-approve 2>&1 | grep -E 'Stand-in|Apply complete'
rm -rf "$review"
log "the seed's step 9: moto delivers no flow logs, so we write the records AWS would deliver"
log "for the seed's traffic (pings both ways, an SSH session, a rejected RDP attempt, a NODATA interval)"
"$MOTO_VENV/bin/python" scripts/seed_traffic.py
log "step 8 checked against the configuration and what the flow logs saw"
step verify --engine local --since 2h
log "why each REJECT happened: the setting that dropped it, and the fix (flow logs only say REJECT)"
step explain --engine local --since 2h
log "monitoring that runs by itself: the seed's topology plus a monitoring: section (alarms on rejected"
log "traffic to a topic, Contributor Insights rules, a dashboard), planned as ordinary objects"
mon="$(mktemp -d)"
cat topology.yaml - >"$mon/topology.yaml" <<'YAML'

monitoring:
  notify: { email: [ops@example.com] }
  rejects:
    - log-group: flow-logs
      threshold: 20
    - instance: instance-2
      threshold: 1
      period: 60
  contributors: true
  dashboard: true
YAML
step plan -f "$mon/topology.yaml" | grep -E '^  # |^Plan:'
step apply -f "$mon/topology.yaml" --auto-approve | tail -1
step plan -f "$mon/topology.yaml" --detailed-exitcode | grep -E '^No changes|^Plan:'
log "which alarm the recorded traffic would have fired, and when (moto evaluates no alarm; vpcform does, as CloudWatch would)"
step monitor test -f "$mon/topology.yaml" --since 2h
log "back to the seed's topology: the monitoring objects go"
step apply -f topology.yaml --auto-approve | tail -1
rm -rf "$mon"
step query
for q in all-events rejected between-instances by-protocol; do
  step query "$q" --engine local --since 2h
done
log "Logs Insights itself (moto honours only fields, sort and limit, reports no statistics and returns @timestamp as epoch milliseconds, which AWS formats)"
step query --query 'fields @timestamp, @message | sort @timestamp desc | limit 3' --engine aws --since 2h
step destroy -f topology.yaml --auto-approve
step plan -f topology.yaml --format markdown | head -12

log "a production-shaped VPC (examples/production-vpc.yaml): NAT per zone, S3 and SSM endpoints, an office prefix list, IPv6"
log "(moto drops a prefix-list rule's description, which AWS keeps: the demo's copy leaves it out;"
log " moto gives no IPv6 address to an instance its subnet should give one: app-1 asks for one)"
prod="$(mktemp -d)"
sed -e 's/prefix-list: office-ranges, description: office }/prefix-list: office-ranges }/' \
  -e 's/prefix-list: com.amazonaws.us-east-1.s3, description: backups to S3 }/prefix-list: com.amazonaws.us-east-1.s3 }/' \
  -e 's/^    security-groups: \[app-sg\]$/&\n    ipv6-address-count: 1/' \
  -e 's/^waivers:$/waivers:\n  - { rule: CKV_AWS_23, resource: security-group.bastion-sg, reason: "moto drops the description of a prefix-list rule" }\n  - { rule: CKV_AWS_23, resource: security-group.db-sg, reason: "moto drops the description of a prefix-list rule" }/' \
  examples/production-vpc.yaml >"$prod/production.yaml"
step apply -f "$prod/production.yaml" --auto-approve 2>&1 | grep -E 'prefix-list|vpc-endpoint|egress-only|Apply complete'
log "moto gives the default ACL of an IPv6 VPC no IPv6 entries; AWS's (rule 101, allow all) are written in"
"$MOTO_VENV/bin/python" scripts/aws_defaults.py
step plan -f "$prod/production.yaml" --detailed-exitcode | tail -12
log "S3 through the gateway endpoint (AWS's list, as the account publishes it), the office through its list"
step reach -f "$prod/production.yaml" instance.app-1 s3 --protocol tcp --port 443 --live
step reach -f "$prod/production.yaml" 203.0.113.10 instance.bastion --protocol tcp --port 22 --live | head -1
step reach -f "$prod/production.yaml" 192.0.2.10 instance.bastion --protocol tcp --port 22 --live | tail -3 || true
log "IPv6: the app tier leaves through the egress-only gateway; what the internet opens towards it is refused"
step reach -f "$prod/production.yaml" instance.app-1 internet --protocol tcp --port 443 --ipv6 --live
step reach -f "$prod/production.yaml" ::/0 instance.app-1 --protocol tcp --port 443 --live | sed -n '/blocked by/,$p' || true
step destroy -f "$prod/production.yaml" --auto-approve | tail -1
log "a transit hub (examples/transit-hub.yaml): shared services, prod and dev segments on one transit gateway"
log "(moto gets transit gateways partly wrong: scripts/moto_server.py corrects its answers, docs/moto.md)"
hub="$(mktemp -d)"
cp examples/transit-hub.yaml "$hub/transit-hub.yaml"
step apply -f "$hub/transit-hub.yaml" --auto-approve | tail -1
step plan -f "$hub/transit-hub.yaml" --detailed-exitcode | tail -3
step reach -f "$hub/transit-hub.yaml" instance.prod-a-web instance.shared-svc --protocol tcp --port 443 --live | grep -E 'reachable|transit gateway'
log "a pull request that propagates dev into prod's route table fails the plan, naming the propagation"
sed -i 's/propagations: \[shared-att, prod-a-att, prod-b-att\]/propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]/' "$hub/transit-hub.yaml"
step plan -f "$hub/transit-hub.yaml" | sed -n '/^Connectivity:/,$p' || true
cp examples/transit-hub.yaml "$hub/transit-hub.yaml"
step destroy -f "$hub/transit-hub.yaml" --auto-approve | tail -1
rm -rf "$hub"
log "one file, two environments (examples/environments.yaml): the seed as dev in us-east-1 and prod in us-west-2"
envs="$(mktemp -d)"
cp examples/environments.yaml "$envs/topology.yaml"
step render -f "$envs/topology.yaml" --env prod | grep -E '^(stack|region):|cidr: 10\.101|instance-type|retention-days'
step apply -f "$envs/topology.yaml" --env dev --auto-approve 2>&1 | tail -1
step apply -f "$envs/topology.yaml" --env prod --auto-approve 2>&1 | tail -1
log "one pull-request comment for both environments: a line each at the top"
step plan -f "$envs/topology.yaml" --all-envs --format markdown | sed -n '1,6p'
log "a hub and 20 spokes from one blueprint (examples/spokes.yaml, 57 lines): rendered, and a mistake in one use"
step render -f examples/spokes.yaml | wc -l
sed 's|cidr: ${cidrsubnet("10.64.0.0/10", 6, each.index)}|cidr: ${cidrsubnet("10.64.0.0/10", 6, each.index)}\n  broken: { blueprint: spoke, cidr: 10.200.0.0/28 }|' examples/spokes.yaml >"$envs/spokes.yaml"
step validate -f "$envs/spokes.yaml" 2>&1 | sed -n '1,9p' || true
step destroy -f "$envs/topology.yaml" --env dev --auto-approve 2>&1 | tail -1
step destroy -f "$envs/topology.yaml" --env prod --auto-approve 2>&1 | tail -1
rm -rf "$envs"
log "demo finished: the account was built, verified unchanged, and destroyed"
