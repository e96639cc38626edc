"""Hardened parsing of request bodies: no DTDs, no entities, no network, a size cap.

Request XML comes from anyone holding a URL. A document type declaration is the door to
XXE (external entities: file:///etc/passwd, SSRF) and entity expansion ("billion
laughs"); no S3 request body needs one, so any DOCTYPE is refused before and after
parsing, and the parser itself neither loads DTDs, resolves entities nor touches the
network. Every failure is MalformedXML, as S3 answers for a bad body.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.errors import S3Error, S3ErrorCode

DEFAULT_MAX_SIZE = 1024 * 1024


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )


def parse_document(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> etree._Element:
    """The root element of an XML request body; S3Error(MALFORMED_XML) for anything amiss."""
    if len(data) > max_size or not data.strip():
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    # Cheap early refusal for UTF-8/ASCII bodies; the docinfo check below covers
    # other encodings.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    try:
        root = etree.fromstring(data, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise S3Error(S3ErrorCode.MALFORMED_XML) from exc
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lacks DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise S3Error(S3ErrorCode.MALFORMED_XML)
    return root


def local_name(el: etree._Element) -> str:
    """The tag without its namespace: "{http://s3...}Key" -> "Key"."""
    tag: object = el.tag
    if not isinstance(tag, str):  # comments and PIs (removed by our parser anyway)
        return ""
    return tag.rpartition("}")[2]
