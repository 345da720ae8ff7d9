#!/usr/bin/env python3
"""Self-test of scripts/moto_server.py: starts it on a free loopback port and
checks each correction (transit gateways, CloudWatch, CloudWatch Logs)
through boto3, as a client sees it.

    <moto venv>/bin/python scripts/moto_server_selftest.py

(scripts/test.sh runs it). Talks to 127.0.0.1 only. Exit 0 when every check
passes; otherwise names the failed checks.
"""

import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import moto_server  # noqa: E402  (the launcher's checks, in process)

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


class Fail(AssertionError):
    pass


def eq(found, expected, what):
    if found != expected:
        raise Fail(f"{what}: {found!r}, expected {expected!r}")


def error_code(call, status=400, **kwargs):
    """The error code `call(**kwargs)` fails with (HTTP `status`: EC2's 400
    unless told), or Fail."""
    try:
        call(**kwargs)
    except botocore.exceptions.ClientError as e:
        found = e.response["ResponseMetadata"]["HTTPStatusCode"]
        if found != status:
            raise Fail(f"{call.__name__}: HTTP {found}, expected {status}") from e
        return e.response["Error"]["Code"]
    raise Fail(f"{call.__name__}({kwargs}) succeeded; expected an error")


# ---------------------------------------------------------------------------
# Fixtures.


def tags(resource_type, **kv):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in kv.items()]}]


def gateway(ec2, association="disable", propagation="disable", **tag_kv):
    options = {"DefaultRouteTableAssociation": association, "DefaultRouteTablePropagation": propagation}
    kwargs = {"Options": options}
    if tag_kv:
        kwargs["TagSpecifications"] = tags("transit-gateway", **tag_kv)
    return ec2.create_transit_gateway(**kwargs)["TransitGateway"]


def vpc(ec2, cidr, ipv6=False):
    vpc_id = ec2.create_vpc(CidrBlock=cidr, AmazonProvidedIpv6CidrBlock=ipv6)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"]["SubnetId"]
    return vpc_id, subnet


def attach(ec2, tgw_id, vpc_id, subnet, ipv6=False, **tag_kv):
    kwargs = {"TransitGatewayId": tgw_id, "VpcId": vpc_id, "SubnetIds": [subnet]}
    if ipv6:
        kwargs["Options"] = {"Ipv6Support": "enable"}
    if tag_kv:
        kwargs["TagSpecifications"] = tags("transit-gateway-attachment", **tag_kv)
    return ec2.create_transit_gateway_vpc_attachment(**kwargs)["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]


def table(ec2, tgw_id, **tag_kv):
    kwargs = {"TransitGatewayId": tgw_id}
    if tag_kv:
        kwargs["TagSpecifications"] = tags("transit-gateway-route-table", **tag_kv)
    return ec2.create_transit_gateway_route_table(**kwargs)["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]


def association_of(ec2, att_id):
    att = ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[att_id])["TransitGatewayAttachments"][0]
    return att.get("Association")


def associated(ec2, rtb_id):
    found = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rtb_id)["Associations"]
    return sorted(a["TransitGatewayAttachmentId"] for a in found)


def routes(ec2, rtb_id, *types, **kwargs):
    filters = [{"Name": "type", "Values": list(types or ("static", "propagated"))}]
    return ec2.search_transit_gateway_routes(TransitGatewayRouteTableId=rtb_id, Filters=filters, **kwargs)


def by_cidr(found):
    return {r["DestinationCidrBlock"]: r for r in found["Routes"]}


def tables_of(ec2, tgw_id):
    filters = [{"Name": "transit-gateway-id", "Values": [tgw_id]}]
    return ec2.describe_transit_gateway_route_tables(Filters=filters)["TransitGatewayRouteTables"]


# ---------------------------------------------------------------------------
# The launcher's own guards (in process, no server).


@check
def refuses_another_moto_version(_):
    import moto

    real = moto.__version__
    moto.__version__ = "5.2.6"
    try:
        moto_server.check_version()
    except moto_server.ShapeError as e:
        assert "5.2.6" in str(e), e
    else:
        raise Fail("moto 5.2.6 accepted")
    finally:
        moto.__version__ = real


@check
def refuses_a_changed_function(_):
    owner = moto_server.RtbBackend
    real = owner.__dict__["delete_transit_gateway_route"]
    owner.delete_transit_gateway_route = lambda self, rtb_id, cidr, extra=None: None
    try:
        moto_server.check_shapes()
    except moto_server.ShapeError as e:
        assert "delete_transit_gateway_route" in str(e), e
    else:
        raise Fail("a changed signature was accepted")
    finally:
        owner.delete_transit_gateway_route = real
    moto_server.check_shapes()


# ---------------------------------------------------------------------------
# The corrections, through the server.


@check
def no_default_table_when_both_defaults_disabled(ec2):
    tgw = gateway(ec2)
    eq(tables_of(ec2, tgw["TransitGatewayId"]), [], "route tables of a gateway with both defaults disabled")
    for key in ("AssociationDefaultRouteTableId", "PropagationDefaultRouteTableId"):
        eq(key in tgw["Options"], False, f"{key} given")


@check
def default_table_follows_the_options(ec2):
    tgw = gateway(ec2, association="enable", propagation="disable")
    [rtb] = tables_of(ec2, tgw["TransitGatewayId"])
    eq(rtb["DefaultAssociationRouteTable"], True, "DefaultAssociationRouteTable")
    eq(rtb["DefaultPropagationRouteTable"], False, "DefaultPropagationRouteTable")
    eq(tgw["Options"].get("AssociationDefaultRouteTableId"), rtb["TransitGatewayRouteTableId"], "association id")
    eq("PropagationDefaultRouteTableId" in tgw["Options"], False, "PropagationDefaultRouteTableId given")
    flag = [{"Name": "default-association-route-table", "Values": ["true"]},
            {"Name": "transit-gateway-id", "Values": [tgw["TransitGatewayId"]]}]
    found = ec2.describe_transit_gateway_route_tables(Filters=flag)["TransitGatewayRouteTables"]
    eq([t["TransitGatewayRouteTableId"] for t in found], [rtb["TransitGatewayRouteTableId"]], "by default flag")


@check
def attachments_join_the_default_table_only_when_enabled(ec2):
    off = gateway(ec2)["TransitGatewayId"]
    on = gateway(ec2, association="enable", propagation="enable")
    default = on["Options"]["AssociationDefaultRouteTableId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att_off = attach(ec2, off, vpc_a, subnet_a)
    eq(association_of(ec2, att_off), None, "Association with defaults disabled")
    att_on = attach(ec2, on["TransitGatewayId"], vpc_a, subnet_a)
    eq(association_of(ec2, att_on), {"State": "associated", "TransitGatewayRouteTableId": default}, "Association")
    eq(associated(ec2, default), [att_on], "default table's associations")
    props = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=default)
    eq([p["TransitGatewayAttachmentId"] for p in props["TransitGatewayRouteTablePropagations"]], [att_on],
       "default table's propagations")
    eq(list(by_cidr(routes(ec2, default, "propagated"))), ["10.1.0.0/16"], "propagated into the default table")
    # The default association can be moved like any other.
    ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=default, TransitGatewayAttachmentId=att_on)
    eq(association_of(ec2, att_on), None, "Association after disassociating the default")


@check
def one_association_per_attachment(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att = attach(ec2, tgw, vpc_a, subnet_a)
    rtb1, rtb2 = table(ec2, tgw), table(ec2, tgw)
    ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=rtb1, TransitGatewayAttachmentId=att)
    eq(association_of(ec2, att)["TransitGatewayRouteTableId"], rtb1, "Association")
    code = error_code(ec2.associate_transit_gateway_route_table, TransitGatewayRouteTableId=rtb2,
                      TransitGatewayAttachmentId=att)
    eq(code, "Resource.AlreadyAssociated", "associating an associated attachment")
    code = error_code(ec2.disassociate_transit_gateway_route_table, TransitGatewayRouteTableId=rtb2,
                      TransitGatewayAttachmentId=att)
    eq(code, "InvalidAssociation.NotFound", "disassociating from a table it is not in")
    ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=rtb1, TransitGatewayAttachmentId=att)
    eq(association_of(ec2, att), None, "Association after Disassociate")
    ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=rtb2, TransitGatewayAttachmentId=att)
    eq(association_of(ec2, att)["TransitGatewayRouteTableId"], rtb2, "Association after moving")
    eq((associated(ec2, rtb1), associated(ec2, rtb2)), ([], [att]), "tables' associations after moving")
    filters = [{"Name": "association.transit-gateway-route-table-id", "Values": [rtb2]}]
    found = ec2.describe_transit_gateway_attachments(Filters=filters)["TransitGatewayAttachments"]
    eq([a["TransitGatewayAttachmentId"] for a in found], [att], "by association.transit-gateway-route-table-id")


@check
def attachment_tags_given_at_creation(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att = attach(ec2, tgw, vpc_a, subnet_a, **{"vpcform:stack": "s1", "Name": "a"})
    want = [{"Key": "Name", "Value": "a"}, {"Key": "vpcform:stack", "Value": "s1"}]
    [vpc_att] = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[att])[
        "TransitGatewayVpcAttachments"]
    eq(sorted(vpc_att.get("Tags", []), key=lambda t: t["Key"]), want, "VPC attachment tags")
    [any_att] = ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[att])["TransitGatewayAttachments"]
    eq(sorted(any_att.get("Tags", []), key=lambda t: t["Key"]), want, "attachment tags")


@check
def tag_filters(ec2):
    tgw = gateway(ec2, **{"vpcform:stack": "s1"})["TransitGatewayId"]
    other = gateway(ec2, **{"vpcform:stack": "s2"})["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    vpc_b, subnet_b = vpc(ec2, "10.2.0.0/16")
    att = attach(ec2, tgw, vpc_a, subnet_a, **{"vpcform:stack": "s1"})
    attach(ec2, tgw, vpc_b, subnet_b, **{"vpcform:stack": "s2"})
    rtb = table(ec2, tgw, **{"vpcform:stack": "s1"})
    table(ec2, other, **{"vpcform:stack": "s2"})
    s1 = [{"Name": "tag:vpcform:stack", "Values": ["s1"]}]
    wild = [{"Name": "tag:vpcform:stack", "Values": ["s?"]}, {"Name": "tag-key", "Values": ["vpcform:*"]}]
    none = [{"Name": "tag:vpcform:stack", "Values": ["x"]}, {"Name": "tag:Name", "Values": ["y"]}]
    calls = [
        (ec2.describe_transit_gateways, "TransitGateways", "TransitGatewayId", tgw),
        (ec2.describe_transit_gateway_vpc_attachments, "TransitGatewayVpcAttachments", "TransitGatewayAttachmentId", att),
        (ec2.describe_transit_gateway_attachments, "TransitGatewayAttachments", "TransitGatewayAttachmentId", att),
        (ec2.describe_transit_gateway_route_tables, "TransitGatewayRouteTables", "TransitGatewayRouteTableId", rtb),
    ]
    for call, items, key, want in calls:
        eq([i[key] for i in call(Filters=s1)[items]], [want], f"{call.__name__} tag:vpcform:stack=s1")
        eq(len(call(Filters=wild)[items]), 2, f"{call.__name__} tag with wildcards, tag-key")
        eq(call(Filters=none)[items], [], f"{call.__name__} two failing tag filters")


@check
def static_routes_name_their_attachment(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att = attach(ec2, tgw, vpc_a, subnet_a)
    rtb = table(ec2, tgw)
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=rtb, DestinationCidrBlock="10.50.0.0/16",
                                     TransitGatewayAttachmentId=att)
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=rtb, DestinationCidrBlock="10.60.0.0/16",
                                     Blackhole=True)
    found = by_cidr(routes(ec2, rtb, "static"))
    want = [{"ResourceId": vpc_a, "ResourceType": "vpc", "TransitGatewayAttachmentId": att}]
    eq(found["10.50.0.0/16"].get("TransitGatewayAttachments"), want, "static route's attachments")
    eq(found["10.50.0.0/16"]["State"], "active", "static route's state")
    eq(found["10.60.0.0/16"]["State"], "blackhole", "blackhole route's state")
    eq(found["10.60.0.0/16"].get("TransitGatewayAttachments", []), [], "blackhole route's attachments")
    code = error_code(ec2.create_transit_gateway_route, TransitGatewayRouteTableId=rtb,
                      DestinationCidrBlock="10.70.0.0/16", TransitGatewayAttachmentId="tgw-attach-0123456789abcdef0")
    eq(code, "InvalidTransitGatewayAttachmentID.NotFound", "route to an unknown attachment")
    deleted = ec2.delete_transit_gateway_route(TransitGatewayRouteTableId=rtb, DestinationCidrBlock="10.50.0.0/16")
    eq(deleted["Route"]["State"], "deleted", "deleted route's state")
    code = error_code(ec2.delete_transit_gateway_route, TransitGatewayRouteTableId=rtb,
                      DestinationCidrBlock="10.50.0.0/16")
    eq(code, "InvalidRoute.NotFound", "deleting a route twice")


@check
def propagated_routes(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16", ipv6=True)
    ec2.associate_vpc_cidr_block(VpcId=vpc_a, CidrBlock="10.11.0.0/16")
    ipv6_a = ec2.describe_vpcs(VpcIds=[vpc_a])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    vpc_b, subnet_b = vpc(ec2, "10.2.0.0/16", ipv6=True)
    att_a = attach(ec2, tgw, vpc_a, subnet_a, ipv6=True)
    att_b = attach(ec2, tgw, vpc_b, subnet_b)  # Ipv6Support disable: its IPv6 block does not propagate
    rtb, rtb2 = table(ec2, tgw), table(ec2, tgw)
    for t in (rtb, rtb2):
        for a in (att_a, att_b):
            ec2.enable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=t, TransitGatewayAttachmentId=a)
    found = by_cidr(routes(ec2, rtb, "propagated"))
    eq(sorted(found), sorted(["10.1.0.0/16", "10.11.0.0/16", ipv6_a, "10.2.0.0/16"]), "propagated destinations")
    eq(found["10.2.0.0/16"]["TransitGatewayAttachments"],
       [{"ResourceId": vpc_b, "ResourceType": "vpc", "TransitGatewayAttachmentId": att_b}], "propagated route's attachment")
    eq({r["Type"] for r in found.values()}, {"propagated"}, "types")
    # A static route for the same destination hides the propagated one.
    ec2.create_transit_gateway_route(TransitGatewayRouteTableId=rtb, DestinationCidrBlock="10.2.0.0/16", Blackhole=True)
    both = by_cidr(routes(ec2, rtb))
    eq((both["10.2.0.0/16"]["Type"], len(both)), ("static", 4), "static over propagated")
    # Disabling one table's propagation leaves the other's.
    ec2.disable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=rtb, TransitGatewayAttachmentId=att_b)
    ec2.disable_transit_gateway_route_table_propagation(TransitGatewayRouteTableId=rtb, TransitGatewayAttachmentId=att_a)
    eq(routes(ec2, rtb, "propagated")["Routes"], [], "propagated after disabling")
    eq(len(routes(ec2, rtb2, "propagated")["Routes"]), 4, "the other table's propagated routes")
    code = error_code(ec2.disable_transit_gateway_route_table_propagation, TransitGatewayRouteTableId=rtb,
                      TransitGatewayAttachmentId=att_a)
    eq(code, "TransitGatewayRouteTablePropagation.NotFound", "disabling twice")
    code = error_code(ec2.enable_transit_gateway_route_table_propagation, TransitGatewayRouteTableId=rtb2,
                      TransitGatewayAttachmentId=att_a)
    eq(code, "TransitGatewayRouteTablePropagation.Duplicate", "enabling twice")


@check
def search_with_max_results(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    rtb = table(ec2, tgw)
    for i in range(7):
        ec2.create_transit_gateway_route(TransitGatewayRouteTableId=rtb, DestinationCidrBlock=f"10.{i}.0.0/16",
                                         Blackhole=True)
    page = routes(ec2, rtb, MaxResults=5)
    eq((len(page["Routes"]), page["AdditionalRoutesAvailable"]), (5, True), "MaxResults=5 of 7")
    page = routes(ec2, rtb, MaxResults=10)
    eq((len(page["Routes"]), page["AdditionalRoutesAvailable"]), (7, False), "MaxResults=10 of 7")
    exact = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=rtb, Filters=[{"Name": "route-search.subnet-of-match", "Values": ["10.0.0.0/14"]}])
    eq(sorted(by_cidr(exact)), [f"10.{i}.0.0/16" for i in range(4)], "route-search.subnet-of-match")


@check
def prefix_list_references(ec2):
    tgw = gateway(ec2)["TransitGatewayId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att = attach(ec2, tgw, vpc_a, subnet_a)
    rtb = table(ec2, tgw)
    pl = ec2.create_managed_prefix_list(PrefixListName="pl", AddressFamily="IPv4", MaxEntries=5,
                                        Entries=[{"Cidr": "10.70.0.0/16"}, {"Cidr": "10.71.0.0/16"}])
    pl_id = pl["PrefixList"]["PrefixListId"]
    ref = ec2.create_transit_gateway_prefix_list_reference(TransitGatewayRouteTableId=rtb, PrefixListId=pl_id,
                                                           TransitGatewayAttachmentId=att)
    eq(ref["TransitGatewayPrefixListReference"]["TransitGatewayAttachment"]["TransitGatewayAttachmentId"], att,
       "reference's attachment")
    refs = ec2.get_transit_gateway_prefix_list_references(TransitGatewayRouteTableId=rtb)
    eq([r["PrefixListId"] for r in refs["TransitGatewayPrefixListReferences"]], [pl_id], "references")
    found = by_cidr(routes(ec2, rtb, "static"))
    eq(sorted(found), ["10.70.0.0/16", "10.71.0.0/16"], "one route per entry")
    eq({r.get("PrefixListId") for r in found.values()}, {pl_id}, "routes' prefix list")
    ec2.modify_transit_gateway_prefix_list_reference(TransitGatewayRouteTableId=rtb, PrefixListId=pl_id,
                                                     Blackhole=True)
    eq({r["State"] for r in routes(ec2, rtb)["Routes"]}, {"blackhole"}, "routes after Modify to blackhole")
    gone = ec2.delete_transit_gateway_prefix_list_reference(TransitGatewayRouteTableId=rtb, PrefixListId=pl_id)
    eq(gone["TransitGatewayPrefixListReference"]["State"], "deleting", "deleted reference's state")
    eq(routes(ec2, rtb)["Routes"], [], "routes after Delete")


@check
def deletes(ec2):
    tgw = gateway(ec2, association="enable", propagation="enable")
    tgw_id, default = tgw["TransitGatewayId"], tgw["Options"]["AssociationDefaultRouteTableId"]
    vpc_a, subnet_a = vpc(ec2, "10.1.0.0/16")
    att = attach(ec2, tgw_id, vpc_a, subnet_a)
    rtb = table(ec2, tgw_id)
    ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=default, TransitGatewayAttachmentId=att)
    ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=rtb, TransitGatewayAttachmentId=att)
    eq(error_code(ec2.delete_transit_gateway, TransitGatewayId=tgw_id), "IncorrectState", "gateway with an attachment")
    eq(error_code(ec2.delete_transit_gateway_route_table, TransitGatewayRouteTableId=rtb), "IncorrectState",
       "table with an association")
    eq(error_code(ec2.delete_transit_gateway_route_table, TransitGatewayRouteTableId=default), "IncorrectState",
       "the default table")
    gone = ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=att)
    eq(gone["TransitGatewayVpcAttachment"]["State"], "deleting", "deleted attachment's state")
    eq(ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"], [], "attachments after delete")
    eq((associated(ec2, rtb), routes(ec2, default)["Routes"]), ([], []), "association and propagation after delete")
    eq(error_code(ec2.delete_transit_gateway_vpc_attachment, TransitGatewayAttachmentId=att),
       "InvalidTransitGatewayAttachmentID.NotFound", "deleting the attachment twice")
    gone = ec2.delete_transit_gateway_route_table(TransitGatewayRouteTableId=rtb)
    eq(gone["TransitGatewayRouteTable"]["State"], "deleting", "deleted table's state")
    eq(error_code(ec2.delete_transit_gateway_route_table, TransitGatewayRouteTableId=rtb),
       "InvalidRouteTableID.NotFound", "deleting the table twice")
    gone = ec2.delete_transit_gateway(TransitGatewayId=tgw_id)
    eq(gone["TransitGateway"]["State"], "deleting", "deleted gateway's state")
    eq(ec2.describe_transit_gateways()["TransitGateways"], [], "gateways after delete")
    eq(tables_of(ec2, tgw_id), [], "the gateway's tables after delete")
    eq(error_code(ec2.delete_transit_gateway, TransitGatewayId=tgw_id), "InvalidTransitGatewayID.NotFound",
       "deleting the gateway twice")


# ---------------------------------------------------------------------------
# CloudWatch and CloudWatch Logs.


def client(ec2, service):
    """Another service's client on the same server."""
    return boto3.client(
        service, endpoint_url=ec2.meta.endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )


@check
def insight_rules_take_tags(ec2):
    cw = client(ec2, "cloudwatch")
    body = '{"Schema":{"Name":"CloudWatchLogRule","Version":1},"LogGroupNames":["g"],"LogFormat":"CLF",' \
           '"Fields":{"4":"srcaddr"},"Contribution":{"Keys":["srcaddr"]},"AggregateOn":"Count"}'
    cw.put_insight_rule(RuleName="r", RuleState="ENABLED", RuleDefinition=body)
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:insight-rule/r"
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    eq(cw.list_tags_for_resource(ResourceARN=arn)["Tags"], [{"Key": "k", "Value": "v"}], "the rule's tags")
    # CloudWatch answers ResourceNotFoundException with HTTP 404 (API Reference, TagResource).
    eq(error_code(cw.tag_resource, status=404, ResourceARN=arn + "-none", Tags=[{"Key": "k", "Value": "v"}]),
       "ResourceNotFoundException", "tagging no rule")


@check
def put_metric_filter_rewrites_a_name(ec2):
    logs = client(ec2, "logs")
    logs.create_log_group(logGroupName="g")
    metric = [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}]
    logs.put_metric_filter(logGroupName="g", filterName="f", filterPattern="REJECT", metricTransformations=metric)
    logs.put_metric_filter(logGroupName="g", filterName="f", filterPattern="ACCEPT", metricTransformations=metric)
    found = [(f["filterName"], f["filterPattern"]) for f in logs.describe_metric_filters()["metricFilters"]]
    eq(found, [("f", "ACCEPT")], "filters after writing one name twice")


@check
def query_definitions(ec2):
    logs = client(ec2, "logs")
    first = logs.put_query_definition(name="vpcform/s/a", queryString="fields @timestamp",
                                      logGroupNames=["g"])["queryDefinitionId"]
    logs.put_query_definition(name="other", queryString="stats count()")
    listed = logs.describe_query_definitions(queryDefinitionNamePrefix="vpcform/")["queryDefinitions"]
    eq([(q["name"], q["logGroupNames"]) for q in listed], [("vpcform/s/a", ["g"])], "listed by prefix")
    logs.put_query_definition(queryDefinitionId=first, name="vpcform/s/a", queryString="stats count()")
    listed = logs.describe_query_definitions(queryDefinitionNamePrefix="vpcform/")["queryDefinitions"]
    eq([(q["queryString"], q["logGroupNames"]) for q in listed], [("stats count()", [])],
       "rewritten, log groups not kept")
    eq(logs.delete_query_definition(queryDefinitionId=first)["success"], True, "deleted")
    eq(error_code(logs.delete_query_definition, queryDefinitionId=first), "ResourceNotFoundException",
       "deleting it again")


# ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "moto_server.py"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"moto_server.py exited {server.returncode}:\n{server.stderr.read().decode()}")
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto_server.py did not start within 30 s")


def main():
    started = time.monotonic()
    server, endpoint = start_server()
    try:
        ec2 = boto3.client(
            "ec2", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )
        failed = []
        for fn in CHECKS:
            urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST")).read()
            try:
                fn(ec2)
                print(f"ok    {fn.__name__}")
            except Exception as e:  # noqa: BLE001 - every failure is reported, then the next check runs
                failed.append(fn.__name__)
                detail = str(e) if isinstance(e, Fail) else traceback.format_exc()
                print(f"FAIL  {fn.__name__}: {detail}")
    finally:
        server.terminate()
        server.wait(timeout=10)
    took = time.monotonic() - started
    if failed:
        print(f"moto_server self-test: {len(failed)} of {len(CHECKS)} checks failed ({took:.1f} s): {', '.join(failed)}")
        return 1
    print(f"moto_server self-test: {len(CHECKS)} checks passed ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
