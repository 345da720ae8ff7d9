#!/usr/bin/env python3
"""moto's server (moto 5.2.5) with vpcform's transit-gateway and CloudWatch corrections.

    <moto venv>/bin/python scripts/moto_server.py -H 127.0.0.1 -p PORT

Takes moto_server's arguments. Before the server starts, a few functions of
moto's transit-gateway models and responses are replaced in memory (nothing
on disk changes), each by one small function below whose docstring names
the AWS behaviour it restores and where AWS documents it. Everything else is
moto's, unchanged. docs/moto.md lists the corrections and what stays wrong.

The launcher refuses to start (exit 3) when moto is not 5.2.5 or when a
function it replaces does not have the shape it was written against: a
correction that silently did not apply would make tests lie.
"""

import inspect
import json
import ipaddress
import re
import sys

MOTO_VERSION = "5.2.5"


class ShapeError(Exception):
    """moto is not the version, or has not the functions, written against."""


# ---------------------------------------------------------------------------
# The registry: every replacement names its target and the target's
# parameters as moto 5.2.5 has them; all are checked before any is installed.

_CORRECTIONS = []  # (owner, name, expected parameters, function)
_ORIGINAL = {}  # (owner, name) -> moto's function
NEW = "new"  # expected of an action moto lacks: the name must not exist
PROPERTY = "property"  # expected of a property moto has


def _replaces(owner, name, expected):
    """Registers the decorated function as `owner.name`. `expected`: the
    original's parameter names as moto 5.2.5 has them, PROPERTY, or NEW."""

    def register(fn):
        _CORRECTIONS.append((owner, name, expected, fn))
        return fn

    return register


def _original(owner, name):
    return _ORIGINAL[(owner, name)]


def check_shapes():
    """Raises ShapeError unless every target is as expected."""
    problems = []
    for owner, name, expected, _ in _CORRECTIONS:
        where = f"{owner.__module__}.{owner.__name__}.{name}"
        current = owner.__dict__.get(name)
        if expected == NEW:
            if hasattr(owner, name):
                problems.append(f"{where} exists (moto implements it now)")
        elif current is None:
            problems.append(f"{where} is missing")
        elif expected == PROPERTY:
            if not isinstance(current, property):
                problems.append(f"{where} is not a property")
        elif not callable(current):
            problems.append(f"{where} is not a function")
        else:
            found = list(inspect.signature(current).parameters)
            if found != expected:
                problems.append(f"{where} takes ({', '.join(found)}), not ({', '.join(expected)})")
    if problems:
        raise ShapeError("; ".join(problems))


def check_version():
    """Raises ShapeError unless moto is the version written against."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise ShapeError(f"moto is {moto.__version__}, not {MOTO_VERSION}")


def install():
    """Checks moto's version and every target's shape, then replaces them
    all (none when a check fails)."""
    check_version()
    check_shapes()
    for owner, name, expected, fn in _CORRECTIONS:
        if expected != NEW:
            _ORIGINAL[(owner, name)] = owner.__dict__[name]
        setattr(owner, name, property(fn) if expected == PROPERTY else fn)


# ---------------------------------------------------------------------------
# moto's pieces.

from moto.core.responses import ActionResult  # noqa: E402
from moto.ec2.exceptions import EC2ClientError, InvalidTransitGatewayID  # noqa: E402
from moto.ec2.models import transit_gateway as m_tgw  # noqa: E402
from moto.ec2.models import transit_gateway_attachments as m_att  # noqa: E402
from moto.ec2.models import transit_gateway_route_tables as m_rtb  # noqa: E402
from moto.ec2.responses import EC2Response  # noqa: E402
from moto.ec2.responses import transit_gateway_attachments as r_att  # noqa: E402
from moto.ec2.responses import transit_gateway_route_tables as r_rtb  # noqa: E402
from moto.utilities.utils import str2bool  # noqa: E402
from moto.cloudwatch.exceptions import ResourceNotFoundException  # noqa: E402
from moto.cloudwatch.models import CloudWatchBackend  # noqa: E402
from moto.logs.exceptions import ResourceNotFoundException as LogsNotFound  # noqa: E402
from moto.logs.metric_filters import MetricFilters  # noqa: E402
from moto.logs.responses import LogsResponse  # noqa: E402

TGW = m_tgw.TransitGateway
TgwBackend = m_tgw.TransitGatewayBackend
Attachment = m_att.TransitGatewayAttachment
AttBackend = m_att.TransitGatewayAttachmentBackend
RtbBackend = m_rtb.TransitGatewayRouteTableBackend
AttResponse = r_att.TransitGatewayAttachment
RtbResponse = r_rtb.TransitGatewayRouteTable


# ---------------------------------------------------------------------------
# Helpers: look-ups that answer with the EC2 error instead of a KeyError
# (which moto turns into an HTML 500).


def _gateway(backend, tgw_id):
    tgw = backend.transit_gateways.get(tgw_id)
    if tgw is None:
        raise InvalidTransitGatewayID(tgw_id, f"Transit Gateway {tgw_id} was deleted or does not exist.")
    return tgw


def _table(backend, rtb_id):
    rtb = backend.transit_gateways_route_tables.get(rtb_id)
    if rtb is None:
        raise EC2ClientError(
            "InvalidRouteTableID.NotFound", f"Transit Gateway Route Table {rtb_id} was deleted or does not exist."
        )
    return rtb


def _attachment(backend, att_id):
    att = backend.transit_gateway_attachments.get(att_id)
    if att is None:
        raise EC2ClientError(
            "InvalidTransitGatewayAttachmentID.NotFound",
            f"Transit Gateway Attachment {att_id} was deleted or does not exist.",
        )
    return att


def _route_attachment(att):
    """A TransitGatewayRouteAttachment (camel case, as moto serialises dicts)."""
    return {"resourceId": att.resource_id, "resourceType": att.resource_type, "transitGatewayAttachmentId": att.id}


def _wildcard(value):
    """An EC2 filter value: `*` any characters, `?` one, `\\` escapes."""
    out, i = "", 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out, i = out + re.escape(value[i + 1]), i + 2
            continue
        out += ".*" if c == "*" else "." if c == "?" else re.escape(c)
        i += 1
    return re.compile(out, re.S)


def _matches(values, text):
    return text is not None and any(_wildcard(v).fullmatch(text) for v in values)


def _split_tag_filters(filters):
    """(the tag filters, the others) of a Describe call's filters."""
    filters = dict(filters or {})
    tags = {k: v for k, v in filters.items() if k.startswith("tag:") or k in ("tag-key", "tag-value")}
    return tags, {k: v for k, v in filters.items() if k not in tags}


def _tagged(items, tag_filters):
    """The items whose tags pass every `tag:KEY`, `tag-key` and `tag-value` filter."""

    def passes(item):
        tags = {t["key"]: t["value"] for t in item.get_tags()}
        for name, values in tag_filters.items():
            if name == "tag-key":
                ok = any(_matches(values, k) for k in tags)
            elif name == "tag-value":
                ok = any(_matches(values, v) for v in tags.values())
            else:
                ok = _matches(values, tags.get(name[4:]))
            if not ok:
                return False
        return True

    return [i for i in items if passes(i)]


# ---------------------------------------------------------------------------
# Default route table, associations and propagations.


@_replaces(TGW, "__init__", ["self", "backend", "description", "options"])
def transit_gateway_init(self, backend, description, options=None):
    """AWS: "If you disable both route propagation and route table
    association, AWS does not create a default route table for the transit
    gateway. However, if either route propagation or route table association
    is enabled, AWS then creates a default route table." (AWS Transit
    Gateway Guide, "How AWS Transit Gateway works", Route tables.)

    moto always creates one, flags it as both defaults, and reports its id as
    AssociationDefaultRouteTableId and PropagationDefaultRouteTableId. Here
    the table exists only when one default is enabled, its
    DefaultAssociationRouteTable / DefaultPropagationRouteTable flags follow
    the options, and each *DefaultRouteTableId is given only when its option
    is enabled (TransitGatewayOptions, EC2 API Reference)."""
    _original(TGW, "__init__")(self, backend, description, options)
    associate = self.options.get("DefaultRouteTableAssociation") == "enable"
    propagate = self.options.get("DefaultRouteTablePropagation") == "enable"
    table = self.default_route_table
    if associate or propagate:
        table.default_association_route_table = associate
        table.default_propagation_route_table = propagate
    else:
        backend.transit_gateways_route_tables.pop(table.id, None)
        self.default_route_table = None
    if not associate:
        self.options.pop("AssociationDefaultRouteTableId", None)
    if not propagate:
        self.options.pop("PropagationDefaultRouteTableId", None)


@_replaces(AttBackend, "create_transit_gateway_vpc_attachment",
           ["self", "transit_gateway_id", "vpc_id", "subnet_ids", "tags", "options"])
def create_transit_gateway_vpc_attachment(self, transit_gateway_id, vpc_id, subnet_ids, tags=None, options=None):
    """AWS: a new attachment is associated with the gateway's default
    association route table only when DefaultRouteTableAssociation is
    `enable`, and propagates to the default propagation route table only
    when DefaultRouteTablePropagation is `enable` (TransitGatewayRequestOptions,
    EC2 API Reference; "Transit gateways in AWS Transit Gateway").

    moto associates every attachment with its (phantom) default table, never
    propagates, and records the association only half (Disassociate then
    fails with a 500). Here both go through AssociateTransitGatewayRouteTable
    and EnableTransitGatewayRouteTablePropagation, as if called."""
    tgw = _gateway(self, transit_gateway_id)
    if self.describe_transit_gateway_vpc_attachments(
        filters={"transit-gateway-id": [transit_gateway_id], "vpc-id": [vpc_id]}
    ):
        raise m_att.DuplicateTransitGatewayAttachmentError(transit_gateway_id)
    att = m_att.TransitGatewayVpcAttachment(
        self, transit_gateway=tgw, tags=tags, vpc_id=vpc_id, subnet_ids=subnet_ids, options=options
    )
    self.transit_gateway_attachments[att.id] = att
    association = tgw.options.get("AssociationDefaultRouteTableId")
    if tgw.options.get("DefaultRouteTableAssociation") == "enable" and association:
        self.associate_transit_gateway_route_table(att.id, association)
    propagation = tgw.options.get("PropagationDefaultRouteTableId")
    if tgw.options.get("DefaultRouteTablePropagation") == "enable" and propagation:
        self.enable_transit_gateway_route_table_propagation(att.id, propagation)
    return att


@_replaces(Attachment, "association", PROPERTY)
def attachment_association(self):
    """AWS: DescribeTransitGatewayAttachments gives each attachment's current
    association (TransitGatewayAttachmentAssociation: State,
    TransitGatewayRouteTableId), none when it has none
    (TransitGatewayAttachment, EC2 API Reference).

    moto reports the gateway's default table forever, whatever Associate and
    Disassociate did. Here it is the association moto records on the
    attachment."""
    data = self._association_data
    if data and self.state == "available":
        return {"State": data["state"], "TransitGatewayRouteTableId": data["transitGatewayRouteTableId"]}
    return None


@_replaces(RtbBackend, "associate_transit_gateway_route_table",
           ["self", "transit_gateway_attachment_id", "transit_gateway_route_table_id"])
def associate_transit_gateway_route_table(self, transit_gateway_attachment_id, transit_gateway_route_table_id):
    """AWS: "You can associate a transit gateway attachment with a single
    route table" ("How AWS Transit Gateway works", Route table association);
    associating an attachment that has an association fails with
    `Resource.AlreadyAssociated` ("Transit Gateway Attachment … is already
    associated to a route table.", HTTP 400, as AWS answers it).

    moto accepts it and leaves the attachment in two tables."""
    att = _attachment(self, transit_gateway_attachment_id)
    _table(self, transit_gateway_route_table_id)
    if att._association_data:
        raise EC2ClientError(
            "Resource.AlreadyAssociated", f"Transit Gateway Attachment {att.id} is already associated to a route table."
        )
    return _original(RtbBackend, "associate_transit_gateway_route_table")(
        self, transit_gateway_attachment_id, transit_gateway_route_table_id
    )


@_replaces(RtbBackend, "disassociate_transit_gateway_route_table", ["self", "tgw_attach_id", "tgw_rt_id"])
def disassociate_transit_gateway_route_table(self, tgw_attach_id, tgw_rt_id):
    """AWS: DisassociateTransitGatewayRouteTable removes the attachment's
    association with that table, after which it can be associated with
    another ("Delete an association for a transit gateway route table");
    an attachment not associated with the table gives
    `InvalidAssociation.NotFound`.

    moto only finds associations made by AssociateTransitGatewayRouteTable
    in this process (others: KeyError, HTML 500)."""
    att = _attachment(self, tgw_attach_id)
    rtb = _table(self, tgw_rt_id)
    if tgw_attach_id not in rtb.route_table_associations:
        raise EC2ClientError("InvalidAssociation.NotFound", f"{tgw_attach_id} is not associated with {tgw_rt_id}.")
    del rtb.route_table_associations[tgw_attach_id]
    att._association_data = {}
    relation = self.transit_gateway_associations.pop(tgw_attach_id, None)
    if relation is None:
        relation = m_rtb.TransitGatewayRelations(self, tgw_attach_id, tgw_rt_id, state="associated")
    relation.state = "disassociated"
    return relation


@_replaces(RtbBackend, "enable_transit_gateway_route_table_propagation",
           ["self", "transit_gateway_attachment_id", "transit_gateway_route_table_id"])
def enable_transit_gateway_route_table_propagation(self, transit_gateway_attachment_id, transit_gateway_route_table_id):
    """AWS: "An attachment can propagate its routes to one or more route
    tables" ("How AWS Transit Gateway works", Route tables), each once:
    enabling a propagation that exists fails
    (`TransitGatewayRouteTablePropagation.Duplicate`: the code as clients of
    AWS handle it, not in AWS's documentation).

    moto keys propagations by attachment alone and lists a repeated one
    twice."""
    _attachment(self, transit_gateway_attachment_id)
    rtb = _table(self, transit_gateway_route_table_id)
    if any(p.transitGatewayAttachmentId == transit_gateway_attachment_id for p in rtb.route_table_propagation):
        raise EC2ClientError(
            "TransitGatewayRouteTablePropagation.Duplicate",
            f"Propagation of {transit_gateway_attachment_id} to {transit_gateway_route_table_id} already exists.",
        )
    return _original(RtbBackend, "enable_transit_gateway_route_table_propagation")(
        self, transit_gateway_attachment_id, transit_gateway_route_table_id
    )


@_replaces(RtbBackend, "disable_transit_gateway_route_table_propagation",
           ["self", "transit_gateway_attachment_id", "transit_gateway_route_table_id"])
def disable_transit_gateway_route_table_propagation(self, transit_gateway_attachment_id, transit_gateway_route_table_id):
    """AWS: disabling one propagation of an attachment leaves its others
    (an attachment propagates to one or more tables, "How AWS Transit Gateway
    works"); disabling one that does not exist fails
    (`TransitGatewayRouteTablePropagation.NotFound`: the code as clients of
    AWS handle it, not in AWS's documentation).

    moto keeps one propagation record per attachment: after the first
    disable, disabling its propagation into a second table is a KeyError
    (HTML 500)."""
    _attachment(self, transit_gateway_attachment_id)
    rtb = _table(self, transit_gateway_route_table_id)
    if not any(p.transitGatewayAttachmentId == transit_gateway_attachment_id for p in rtb.route_table_propagation):
        raise EC2ClientError(
            "TransitGatewayRouteTablePropagation.NotFound",
            f"{transit_gateway_attachment_id} does not propagate to {transit_gateway_route_table_id}.",
        )
    self.disable_route_table_propagation(transit_gateway_attachment_id, transit_gateway_route_table_id)
    relation = m_rtb.TransitGatewayRelations(
        self, transit_gateway_attachment_id, transit_gateway_route_table_id, state="disabled"
    )
    self.transit_gateway_propagations.pop(transit_gateway_attachment_id, None)
    return relation


# ---------------------------------------------------------------------------
# Tags and filters.


@_replaces(AttResponse, "create_transit_gateway_vpc_attachment", ["self"])
def create_transit_gateway_vpc_attachment_response(self):
    """AWS: CreateTransitGatewayVpcAttachment's TagSpecifications are "the
    tags to apply to the VPC attachment" (resource type
    `transit-gateway-attachment`; CreateTransitGatewayVpcAttachment, EC2 API
    Reference).

    moto reads them under `transit-gateway-route-table` and drops them."""
    specs = self._parse_tag_specification()
    attachment = self.ec2_backend.create_transit_gateway_vpc_attachment(
        transit_gateway_id=self._get_param("TransitGatewayId"),
        tags=specs.get("transit-gateway-attachment", {}),
        vpc_id=self._get_param("VpcId"),
        subnet_ids=self._get_param("SubnetIds", []),
        options=self._get_param("Options", {}),
    )
    return ActionResult({"TransitGatewayVpcAttachment": attachment})


@_replaces(TgwBackend, "describe_transit_gateways", ["self", "filters", "transit_gateway_ids"])
def describe_transit_gateways(self, filters, transit_gateway_ids):
    """AWS: EC2 Describe filters "can be used to match a set of resources
    by specific criteria, such as tags" (Filter, EC2 API Reference):
    `tag:KEY`, `tag-key`, `tag-value`, values with `*` and `?` wildcards.

    moto knows only `tag:KEY`, exactly, and fails (HTML 500) when an object
    fails two tag filters."""
    tag_filters, others = _split_tag_filters(filters)
    found = _original(TgwBackend, "describe_transit_gateways")(self, others, transit_gateway_ids)
    return _tagged(found, tag_filters)


@_replaces(AttBackend, "describe_transit_gateway_vpc_attachments",
           ["self", "transit_gateways_attachment_ids", "filters"])
def describe_transit_gateway_vpc_attachments(self, transit_gateways_attachment_ids=None, filters=None):
    """AWS: tag filters (`tag:KEY`, `tag-key`, `tag-value`) select VPC
    attachments as they select other EC2 objects (Filter, EC2 API
    Reference). moto ignores them: every attachment comes back."""
    tag_filters, others = _split_tag_filters(filters)
    found = _original(AttBackend, "describe_transit_gateway_vpc_attachments")(
        self, transit_gateways_attachment_ids, others
    )
    return _tagged(found, tag_filters)


@_replaces(AttBackend, "describe_transit_gateway_attachments", ["self", "transit_gateways_attachment_ids", "filters"])
def describe_transit_gateway_attachments(self, transit_gateways_attachment_ids=None, filters=None):
    """AWS: DescribeTransitGatewayAttachments filters on `state`,
    `transit-gateway-attachment-id`, `association.state` and
    `association.transit-gateway-route-table-id` (DescribeTransitGatewayAttachments,
    EC2 API Reference), and on tags (Filter).

    moto ignores all of these."""
    tag_filters, others = _split_tag_filters(filters)
    found = _original(AttBackend, "describe_transit_gateway_attachments")(self, transit_gateways_attachment_ids, others)
    fields = {
        "state": lambda a: a.state,
        "transit-gateway-attachment-id": lambda a: a.id,
        "association.state": lambda a: (a.association or {}).get("State"),
        "association.transit-gateway-route-table-id": lambda a: (a.association or {}).get("TransitGatewayRouteTableId"),
    }
    for name, field in fields.items():
        if name in others:
            found = [a for a in found if field(a) in others[name]]
    return _tagged(found, tag_filters)


@_replaces(RtbBackend, "get_all_transit_gateway_route_tables", ["self", "transit_gateway_route_table_ids", "filters"])
def get_all_transit_gateway_route_tables(self, transit_gateway_route_table_ids=None, filters=None):
    """AWS: DescribeTransitGatewayRouteTables filters on
    `default-association-route-table` and `default-propagation-route-table`
    (`true` | `false`; DescribeTransitGatewayRouteTables, EC2 API Reference)
    and on tags (Filter).

    moto compares the flags (booleans) with the text `true`, so nothing
    matches, and ignores tag filters."""
    tag_filters, others = _split_tag_filters(filters)
    flags = {k: others.pop(k) for k in ("default-association-route-table", "default-propagation-route-table") if k in others}
    found = _original(RtbBackend, "get_all_transit_gateway_route_tables")(self, transit_gateway_route_table_ids, others)
    for name, values in flags.items():
        attribute = name.replace("-", "_")
        found = [r for r in found if str(getattr(r, attribute)).lower() in [v.lower() for v in values]]
    return _tagged(found, tag_filters)


# ---------------------------------------------------------------------------
# Routes.


@_replaces(RtbBackend, "create_transit_gateway_route",
           ["self", "transit_gateway_route_table_id", "destination_cidr_block", "transit_gateway_attachment_id",
            "blackhole"])
def create_transit_gateway_route(self, transit_gateway_route_table_id, destination_cidr_block,
                                 transit_gateway_attachment_id=None, blackhole=False):
    """AWS: a static route's TransitGatewayAttachments lists the attachment
    it sends to (ResourceId, ResourceType, TransitGatewayAttachmentId;
    TransitGatewayRoute, EC2 API Reference), and an unknown attachment is
    `InvalidTransitGatewayAttachmentID.NotFound`.

    moto stores the attachment as one object where a list belongs: it comes
    back as an empty list, and an unknown attachment gives a route without
    one."""
    rtb = _table(self, transit_gateway_route_table_id)
    route = {
        "destinationCidrBlock": destination_cidr_block,
        "state": "blackhole" if blackhole else "active",
        "type": "static",
    }
    if transit_gateway_attachment_id and not blackhole:
        route["transitGatewayAttachments"] = [_route_attachment(_attachment(self, transit_gateway_attachment_id))]
    rtb.routes[destination_cidr_block] = route
    return route


@_replaces(RtbBackend, "delete_transit_gateway_route",
           ["self", "transit_gateway_route_table_id", "destination_cidr_block"])
def delete_transit_gateway_route(self, transit_gateway_route_table_id, destination_cidr_block):
    """AWS: DeleteTransitGatewayRoute answers the route with State `deleted`
    (the AWS CLI's delete-transit-gateway-route example); a destination the
    table has no static route for is `InvalidRoute.NotFound`.

    moto: KeyError (HTML 500) for an unknown table or destination."""
    rtb = _table(self, transit_gateway_route_table_id)
    route = rtb.routes.pop(destination_cidr_block, None)
    if route is None:
        raise EC2ClientError("InvalidRoute.NotFound", f"No route to {destination_cidr_block} in {rtb.id}.")
    return dict(route, state="deleted")


def _propagated_routes(backend, rtb):
    """The routes a table learns from its VPC propagations, by CIDR: the
    VPC's associated IPv4 blocks, and its IPv6 blocks when the attachment
    has Ipv6Support `enable`. A block an earlier propagation already gave
    is not given again (a later VPC with the same block is not propagated)."""
    routes = {}
    for p in rtb.route_table_propagation:
        att = backend.transit_gateway_attachments.get(p.transitGatewayAttachmentId)
        vpc = backend.vpcs.get(att.resource_id) if att is not None and att.resource_type == "vpc" else None
        if vpc is None:
            continue
        ipv6 = getattr(att, "options", {}).get("Ipv6Support") == "enable"
        blocks = [
            c["cidr_block"]
            for family in ([False, True] if ipv6 else [False])
            for c in vpc.get_cidr_block_association_set(ipv6=family)
            if (c.get("cidr_block_state") or {}).get("state", "associated") == "associated"
        ]
        for cidr in blocks:
            routes.setdefault(cidr, {
                "destinationCidrBlock": cidr,
                "type": "propagated",
                "state": "active",
                "transitGatewayAttachments": [_route_attachment(att)],
            })
    return routes


def _prefix_list_routes(backend, rtb):
    """One static route per entry of each referenced prefix list."""
    routes = []
    for ref in _references(rtb).values():
        pl = backend.managed_prefix_lists.get(ref["PrefixListId"])
        entries = pl.entries.get(pl.version, []) if pl is not None and pl.entries else []
        for entry in entries:
            route = {
                "destinationCidrBlock": entry["Cidr"],
                "prefixListId": ref["PrefixListId"],
                "type": "static",
                "state": "blackhole" if ref["Blackhole"] else "active",
            }
            if "TransitGatewayAttachment" in ref:
                a = ref["TransitGatewayAttachment"]
                route["transitGatewayAttachments"] = [{
                    "resourceId": a["ResourceId"],
                    "resourceType": a["ResourceType"],
                    "transitGatewayAttachmentId": a["TransitGatewayAttachmentId"],
                }]
            routes.append(route)
    return routes


def _net(cidr):
    return ipaddress.ip_network(cidr, strict=False)


def _same_family(a, b):
    return _net(a).version == _net(b).version


_ROUTE_FILTERS = {
    "type": lambda r, v: r["type"] in v,
    "state": lambda r, v: r["state"] in v,
    "prefix-list-id": lambda r, v: r.get("prefixListId") in v,
    "route-search.exact-match": lambda r, v: r.get("destinationCidrBlock") in v,
    "route-search.subnet-of-match": lambda r, v: any(
        _same_family(r["destinationCidrBlock"], x) and _net(r["destinationCidrBlock"]).subnet_of(_net(x)) for x in v),
    "route-search.supernet-of-match": lambda r, v: any(
        _same_family(r["destinationCidrBlock"], x) and _net(r["destinationCidrBlock"]).supernet_of(_net(x)) for x in v),
    "route-search.longest-prefix-match": lambda r, v: any(
        _same_family(r["destinationCidrBlock"], x) and _net(x).subnet_of(_net(r["destinationCidrBlock"])) for x in v),
    "attachment.transit-gateway-attachment-id": lambda r, v: any(
        a["transitGatewayAttachmentId"] in v for a in r.get("transitGatewayAttachments", [])),
    "attachment.resource-id": lambda r, v: any(a["resourceId"] in v for a in r.get("transitGatewayAttachments", [])),
    "attachment.resource-type": lambda r, v: any(
        a["resourceType"] in v for a in r.get("transitGatewayAttachments", [])),
}


@_replaces(RtbBackend, "search_transit_gateway_routes",
           ["self", "transit_gateway_route_table_id", "filters", "max_results"])
def search_transit_gateway_routes(self, transit_gateway_route_table_id, filters, max_results=None):
    """AWS: "For a VPC attachment, the CIDR blocks of the VPC are propagated
    to the transit gateway route table" as routes of type `propagated`;
    "When a static route and a propagated route have the same destination,
    the static route has the higher priority, so the propagated route is not
    included in the route table" ("How AWS Transit Gateway works", Route
    propagation). IPv6 blocks propagate only when the attachment has
    Ipv6Support `enable` (CreateTransitGatewayVpcAttachmentRequestOptions);
    a VPC whose block overlaps an attached VPC's is not propagated
    (CreateTransitGatewayVpcAttachment). "Each entry in the prefix list is
    represented as a route" ("Transit gateway route tables", Prefix list
    references). SearchTransitGatewayRoutes honours its documented filters
    and MaxResults, with AdditionalRoutesAvailable when more matched.

    moto returns no propagated routes, only type/state/exact-match filters,
    and fails (HTML 500) on MaxResults. Returns (routes, more matched)."""
    rtb = _table(self, transit_gateway_route_table_id)
    routes = _propagated_routes(self, rtb)
    routes.update(rtb.routes)
    candidates = list(routes.values()) + _prefix_list_routes(self, rtb)
    filters = filters or {}
    found = [r for r in candidates if all(_ROUTE_FILTERS[k](r, v) for k, v in filters.items() if k in _ROUTE_FILTERS)]
    limit = int(max_results) if max_results else None
    more = limit is not None and len(found) > limit
    return found[:limit], more


@_replaces(RtbResponse, "search_transit_gateway_routes", ["self"])
def search_transit_gateway_routes_response(self):
    """The response of SearchTransitGatewayRoutes with AdditionalRoutesAvailable
    (true when MaxResults cut the list; SearchTransitGatewayRoutes, EC2 API
    Reference). moto always answers false."""
    routes, more = self.ec2_backend.search_transit_gateway_routes(
        transit_gateway_route_table_id=self._get_param("TransitGatewayRouteTableId"),
        filters=self._filters_from_querystring(),
        max_results=self._get_param("MaxResults"),
    )
    return ActionResult({"routeSet": routes, "additionalRoutesAvailable": more})


# ---------------------------------------------------------------------------
# Prefix-list references (not implemented by moto: HTML 500).


def _references(rtb):
    if not hasattr(rtb, "prefix_list_references"):
        rtb.prefix_list_references = {}
    return rtb.prefix_list_references


def _reference(backend, rtb, pl_id, att_id, blackhole):
    pl = backend.managed_prefix_lists.get(pl_id)
    if pl is None:
        raise EC2ClientError("InvalidPrefixListID.NotFound", f"The prefix list ID '{pl_id}' does not exist")
    ref = {
        "TransitGatewayRouteTableId": rtb.id,
        "PrefixListId": pl_id,
        "PrefixListOwnerId": pl.owner_id,
        "State": "available",
        "Blackhole": bool(blackhole),
    }
    if att_id and not blackhole:
        att = _attachment(backend, att_id)
        ref["TransitGatewayAttachment"] = {
            "TransitGatewayAttachmentId": att.id, "ResourceType": att.resource_type, "ResourceId": att.resource_id,
        }
    return ref


def _known_reference(self):
    rtb = _table(self.ec2_backend, self._get_param("TransitGatewayRouteTableId"))
    pl_id = self._get_param("PrefixListId")
    if pl_id not in _references(rtb):
        raise EC2ClientError("InvalidPrefixListID.NotFound", f"No reference to {pl_id} in {rtb.id}.")
    return rtb, pl_id


@_replaces(EC2Response, "create_transit_gateway_prefix_list_reference", NEW)
def create_transit_gateway_prefix_list_reference(self):
    """AWS: a transit-gateway route table can reference a prefix list, to an
    attachment or as a blackhole ("Transit gateway route tables", Prefix list
    references; CreateTransitGatewayPrefixListReference). States are
    immediately `available` here."""
    rtb = _table(self.ec2_backend, self._get_param("TransitGatewayRouteTableId"))
    ref = _reference(self.ec2_backend, rtb, self._get_param("PrefixListId"),
                     self._get_param("TransitGatewayAttachmentId"), str2bool(self._get_param("Blackhole")))
    _references(rtb)[ref["PrefixListId"]] = ref
    return ActionResult({"TransitGatewayPrefixListReference": ref})


@_replaces(EC2Response, "modify_transit_gateway_prefix_list_reference", NEW)
def modify_transit_gateway_prefix_list_reference(self):
    """AWS: ModifyTransitGatewayPrefixListReference changes a reference's
    attachment or blackhole."""
    rtb, pl_id = _known_reference(self)
    ref = _reference(self.ec2_backend, rtb, pl_id, self._get_param("TransitGatewayAttachmentId"),
                     str2bool(self._get_param("Blackhole")))
    _references(rtb)[pl_id] = ref
    return ActionResult({"TransitGatewayPrefixListReference": ref})


@_replaces(EC2Response, "delete_transit_gateway_prefix_list_reference", NEW)
def delete_transit_gateway_prefix_list_reference(self):
    """AWS: DeleteTransitGatewayPrefixListReference removes the reference
    (answered as `deleting`)."""
    rtb, pl_id = _known_reference(self)
    ref = _references(rtb).pop(pl_id)
    return ActionResult({"TransitGatewayPrefixListReference": dict(ref, State="deleting")})


@_replaces(EC2Response, "get_transit_gateway_prefix_list_references", NEW)
def get_transit_gateway_prefix_list_references(self):
    """AWS: GetTransitGatewayPrefixListReferences lists a table's references,
    filtered by `prefix-list-id`, `attachment.transit-gateway-attachment-id`,
    `attachment.resource-id`, `attachment.resource-type`, `is-blackhole`."""
    rtb = _table(self.ec2_backend, self._get_param("TransitGatewayRouteTableId"))
    fields = {
        "prefix-list-id": lambda r: r["PrefixListId"],
        "attachment.transit-gateway-attachment-id":
            lambda r: r.get("TransitGatewayAttachment", {}).get("TransitGatewayAttachmentId"),
        "attachment.resource-id": lambda r: r.get("TransitGatewayAttachment", {}).get("ResourceId"),
        "attachment.resource-type": lambda r: r.get("TransitGatewayAttachment", {}).get("ResourceType"),
        "is-blackhole": lambda r: str(r["Blackhole"]).lower(),
    }
    refs = list(_references(rtb).values())
    for name, values in self._filters_from_querystring().items():
        if name in fields:
            refs = [r for r in refs if fields[name](r) in values]
    return ActionResult({"TransitGatewayPrefixListReferences": refs})


# ---------------------------------------------------------------------------
# Deletes.


@_replaces(TgwBackend, "delete_transit_gateway", ["self", "transit_gateway_id"])
def delete_transit_gateway(self, transit_gateway_id):
    """AWS: "You can't delete a transit gateway with existing attachments.
    You need to delete all attachments before you can delete a transit
    gateway." ("Delete a transit gateway in AWS Transit Gateway"); AWS
    answers `IncorrectState` ("… has non-deleted Transit Gateway
    Attachments: …"). A deleted gateway is answered as `deleting` (the AWS
    CLI's delete-transit-gateway example).

    moto deletes it with its attachments live, leaves its route tables
    behind, answers `available`, and fails (HTML 500) on an unknown id.
    Here the gateway is gone from Describe at once (AWS lists it as
    `deleted` for a while), and its route tables with it (assumed: AWS
    documents no table outliving its gateway)."""
    tgw = _gateway(self, transit_gateway_id)
    live = [a.id for a in self.transit_gateway_attachments.values() if a.transit_gateway_id == transit_gateway_id]
    if live:
        raise EC2ClientError(
            "IncorrectState", f"{transit_gateway_id} has non-deleted Transit Gateway Attachments: {', '.join(live)}."
        )
    for rtb in [r for r in self.transit_gateways_route_tables.values() if r.transit_gateway_id == transit_gateway_id]:
        del self.transit_gateways_route_tables[rtb.id]
    del self.transit_gateways[transit_gateway_id]
    tgw.state = "deleting"
    return tgw


@_replaces(AttBackend, "delete_transit_gateway_vpc_attachment", ["self", "transit_gateway_attachment_id"])
def delete_transit_gateway_vpc_attachment(self, transit_gateway_attachment_id):
    """AWS: a deleted VPC attachment leaves its association and propagations
    with it, is answered as `deleting` (the AWS CLI's
    delete-transit-gateway-vpc-attachment example), and an unknown one is
    `InvalidTransitGatewayAttachmentID.NotFound`.

    moto keeps its association in the table (and every propagation but one),
    answers `deleted`, and fails (HTML 500) on an unknown id. Here it is
    gone from Describe at once (AWS lists it as `deleted` for a while)."""
    att = _attachment(self, transit_gateway_attachment_id)
    for rtb in self.transit_gateways_route_tables.values():
        rtb.route_table_associations.pop(att.id, None)
        rtb.route_table_propagation = [p for p in rtb.route_table_propagation if p.transitGatewayAttachmentId != att.id]
    self.transit_gateway_associations.pop(att.id, None)
    self.transit_gateway_propagations.pop(att.id, None)
    del self.transit_gateway_attachments[att.id]
    att._association_data = {}
    att.state = "deleting"
    return att


@_replaces(RtbBackend, "delete_transit_gateway_route_table", ["self", "transit_gateway_route_table_id"])
def delete_transit_gateway_route_table(self, transit_gateway_route_table_id):
    """AWS: "Before you can delete a transit gateway route table, you must
    disassociate all attachments from it … You can't delete a transit
    gateway route table that is the default association route table or
    default propagation route table for the transit gateway."
    (DeleteTransitGatewayRouteTable, EC2 API Reference; the error code is
    not documented: `IncorrectState` is assumed.) A deleted table is
    answered as `deleting` (the AWS CLI's delete-transit-gateway-route-table
    example).

    moto deletes any table, keeps it in Describe for ever as `deleted`, and
    fails (HTML 500) on an unknown id. Here it is gone from Describe at once
    (AWS lists it as `deleted` for a while)."""
    rtb = _table(self, transit_gateway_route_table_id)
    if rtb.route_table_associations:
        raise EC2ClientError(
            "IncorrectState", f"{rtb.id} has associated attachments: {', '.join(rtb.route_table_associations)}."
        )
    tgw = self.transit_gateways.get(rtb.transit_gateway_id)
    if tgw is not None and rtb.id in (tgw.options.get("AssociationDefaultRouteTableId"),
                                      tgw.options.get("PropagationDefaultRouteTableId")):
        raise EC2ClientError("IncorrectState", f"{rtb.id} is a default route table of {tgw.id}.")
    del self.transit_gateways_route_tables[rtb.id]
    rtb.state = "deleting"
    return rtb


# ---------------------------------------------------------------------------
# CloudWatch.


@_replaces(CloudWatchBackend, "tag_resource", ["self", "arn", "tags"])
def cloudwatch_tag_resource(self, arn, tags):
    """TagResource tags Contributor Insights rules as well as alarms (CloudWatch
    API Reference, TagResource: the resources that can be tagged "are alarms
    and Contributor Insights rules"); moto 5.2.5 looks among alarms only and
    answers ResourceNotFound."""
    known = [alarm.alarm_arn for alarm in self.describe_alarms()]
    known += [rule.rule_arn for rule in self.insight_rules.values()]
    if arn not in known:
        raise ResourceNotFoundException
    self.tagger.tag_resource(arn, self.tagger.convert_dict_to_tags_input(tags))


# ---------------------------------------------------------------------------
# CloudWatch Logs: query definitions, which moto 5.2.5 lacks.


@_replaces(MetricFilters, "add_filter",
           ["self", "filter_name", "filter_pattern", "log_group_name", "metric_transformations"])
def add_metric_filter(self, filter_name, filter_pattern, log_group_name, metric_transformations):
    """AWS (CloudWatch Logs API Reference, PutMetricFilter): "Creates or updates a
    metric filter": a name the log group already has is rewritten; moto 5.2.5
    appends a second filter of the same name."""
    self.metric_filters = [
        f for f in self.metric_filters
        if not (f["filterName"] == filter_name and f["logGroupName"] == log_group_name)
    ]
    _original(MetricFilters, "add_filter")(
        self, filter_name, filter_pattern, log_group_name, metric_transformations)


def _query_definitions(backend):
    return backend.__dict__.setdefault("_vpcform_query_definitions", {})


@_replaces(LogsResponse, "put_query_definition", NEW)
def put_query_definition(self):
    """AWS (CloudWatch Logs API Reference, PutQueryDefinition): creates a saved
    Logs Insights query and answers its new id; given `queryDefinitionId`, sets
    that one's name, queryString and logGroupNames to the values sent (none
    kept: no logGroupNames means none)."""
    import time
    import uuid

    definitions = _query_definitions(self.logs_backend)
    given = self._get_param("queryDefinitionId")
    if given and given not in definitions:
        raise LogsNotFound("The specified query definition does not exist.")
    qid = given or str(uuid.uuid4())
    definitions[qid] = {
        "queryDefinitionId": qid,
        "name": self._get_param("name"),
        "queryString": self._get_param("queryString"),
        "logGroupNames": self._get_param("logGroupNames") or [],
        "lastModified": int(time.time() * 1000),
    }
    return json.dumps({"queryDefinitionId": qid})


@_replaces(LogsResponse, "describe_query_definitions", NEW)
def describe_query_definitions(self):
    """AWS: DescribeQueryDefinitions lists saved queries, those whose names start
    with `queryDefinitionNamePrefix` when given, `maxResults` (1-1000, default
    1000) a page with `nextToken` for the next."""
    prefix = self._get_param("queryDefinitionNamePrefix") or ""
    size = int(self._get_param("maxResults") or 1000)
    start = int(self._get_param("nextToken") or 0)
    found = [d for d in _query_definitions(self.logs_backend).values() if d["name"].startswith(prefix)]
    found.sort(key=lambda d: d["name"])
    page = {"queryDefinitions": found[start:start + size]}
    if start + size < len(found):
        page["nextToken"] = str(start + size)
    return json.dumps(page)


@_replaces(LogsResponse, "delete_query_definition", NEW)
def delete_query_definition(self):
    """AWS: DeleteQueryDefinition removes a saved query by id; an unknown id is
    ResourceNotFoundException."""
    if _query_definitions(self.logs_backend).pop(self._get_param("queryDefinitionId"), None) is None:
        raise LogsNotFound("The specified query definition does not exist.")
    return json.dumps({"success": True})


# ---------------------------------------------------------------------------


def main(argv=None):
    try:
        install()
    except ShapeError as e:
        print(f"moto_server.py: cannot apply vpcform's transit-gateway corrections: {e}", file=sys.stderr)
        print("moto_server.py: this launcher is written against moto " + MOTO_VERSION +
              " (scripts/moto.sh pins it); see docs/moto.md", file=sys.stderr)
        return 3
    from moto.server import main as moto_main

    moto_main(sys.argv[1:] if argv is None else argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
