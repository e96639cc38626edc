"""The query protocol's responses and errors as XML. Pure.

A result is a tree of (element name, content) pairs: content is text, a sequence of
child pairs, or None (the element is left out). Lists are `("Users", [("member", ...)])`,
as the query protocol has them. Shapes:
https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html ("Response
Elements") and the common error document
https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html:

    <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
      <CreateUserResult><User>...</User></CreateUserResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata>
    </CreateUserResponse>

    <ErrorResponse xmlns="...">
      <Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>...</Message></Error>
      <RequestId>...</RequestId>
    </ErrorResponse>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from lxml import etree

from auth.iam.errors import IamError

IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"

Content: TypeAlias = "str | Sequence[Element] | None"
Element = tuple[str, Content]


def _root(name: str, namespace: str) -> etree._Element:
    return etree.Element(f"{{{namespace}}}{name}", nsmap={None: namespace})  # type: ignore[dict-item]


def _fill(parent: etree._Element, children: Sequence[Element], namespace: str) -> None:
    for name, content in children:
        if content is None:
            continue
        child = etree.SubElement(parent, f"{{{namespace}}}{name}")
        if isinstance(content, str):
            child.text = content
        else:
            _fill(child, content, namespace)


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def render_response(
    action: str, namespace: str, result: Sequence[Element] | None, request_id: str
) -> bytes:
    """`<{action}Response>` with `<{action}Result>` (left out when result is None, as for
    DeleteUser) and the ResponseMetadata."""
    root = _root(f"{action}Response", namespace)
    tail: list[Element] = [("ResponseMetadata", [("RequestId", request_id)])]
    _fill(root, tail if result is None else [(f"{action}Result", result), *tail], namespace)
    return _serialize(root)


def render_error(err: IamError, namespace: str, request_id: str) -> bytes:
    root = _root("ErrorResponse", namespace)
    error: list[Element] = [
        ("Type", err.code.fault),
        ("Code", err.code.code),
        ("Message", err.message),
    ]
    _fill(root, [("Error", error), ("RequestId", request_id)], namespace)
    return _serialize(root)
