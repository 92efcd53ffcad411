"""What each import kind accepts: its fields, their aliases and a template file."""

import csv
import io
import re
from dataclasses import dataclass

from kehu.core import InvalidInputError


@dataclass(frozen=True)
class FieldSpec:
    """One field of an import kind, as shown to the person preparing the file."""

    name: str
    required: bool
    description: str
    example: str


IDENTITY_FIELDS = (
    "wechat_openid",
    "wechat_unionid",
    "weibo_uid",
    "forum_handle",
    "store_card",
    "app_user",
)

_DATES = "ISO 8601 (2010-12-01T07:45:00Z), YYYY-MM-DD HH:MM:SS, YYYY/MM/DD or YYYYMMDD; naive = UTC"

_SPECS: dict[str, tuple[FieldSpec, ...]] = {
    "customers": (
        FieldSpec("external_id", False, "Your id for the customer (the upsert key)", "13085"),
        FieldSpec("name", False, "Full name", "王小明"),
        FieldSpec("kind", False, "person or organisation (default person)", "person"),
        FieldSpec("email", False, "E-mail address (an identity)", "xiaoming@example.com"),
        FieldSpec("phone", False, "Phone number (an identity)", "+86 138 1234 5678"),
        FieldSpec("country", False, "Country", "China"),
        FieldSpec("city", False, "City", "上海"),
        FieldSpec("birthday", False, "Birthday, YYYY-MM-DD", "1990-05-17"),
        FieldSpec("notes", False, "Free text", ""),
        *(
            FieldSpec(name, False, f"{name.replace('_', ' ')} (an identity)", "")
            for name in IDENTITY_FIELDS
        ),
    ),
    "products": (
        FieldSpec("sku", True, "Stock-keeping unit (the upsert key)", "85048"),
        FieldSpec("name", False, "Product name", "15CM CHRISTMAS GLASS BALL 20 LIGHTS"),
        FieldSpec("category", False, "Category", "Christmas"),
        FieldSpec("price", False, "List price", "6.95"),
        FieldSpec("currency", False, "ISO 4217 currency code (default GBP)", "GBP"),
    ),
    "orders": (
        FieldSpec("order_id", True, "Order (invoice) number; a leading C marks a return", "489434"),
        FieldSpec("customer_id", False, "Customer's external id; empty for a guest", "13085"),
        FieldSpec(
            "ordered_at", True, f"When the order was placed: {_DATES}", "2009-12-01 07:45:00"
        ),
        FieldSpec("sku", True, "Product SKU (the product is created when new)", "85048"),
        FieldSpec("description", False, "Product name", "15CM CHRISTMAS GLASS BALL 20 LIGHTS"),
        FieldSpec("quantity", True, "Whole number; negative on a return", "12"),
        FieldSpec("unit_price", True, "Price of one unit", "6.95"),
        FieldSpec("discount", False, "Discount on the line (amount)", "0"),
        FieldSpec("line_no", False, "Line number within the order (default: file order)", "1"),
        FieldSpec("channel", False, "Sales channel (default store)", "store"),
        FieldSpec("currency", False, "ISO 4217 currency code (default GBP)", "GBP"),
        FieldSpec(
            "country", False, "Country of the order (and of a new customer)", "United Kingdom"
        ),
    ),
    "interactions": (
        FieldSpec("external_id", True, "Your id for the interaction (the upsert key)", "call-0001"),
        FieldSpec("customer_id", False, "Customer's external id (or give email)", "13085"),
        FieldSpec("email", False, "Customer's e-mail, when there is no customer_id", ""),
        FieldSpec("channel", True, "phone, email, wechat, visit...", "phone"),
        FieldSpec("direction", True, "inbound or outbound", "inbound"),
        FieldSpec("occurred_at", True, f"When it happened: {_DATES}", "2010-03-01 10:00:00"),
        FieldSpec("subject", False, "Subject", "Delivery question"),
        FieldSpec("text", False, "What was said", ""),
    ),
    "consents": (
        FieldSpec("customer_id", False, "Customer's external id (or give email)", "13085"),
        FieldSpec("email", False, "Customer's e-mail, when there is no customer_id", ""),
        FieldSpec("channel", True, "email, sms, wechat, phone...", "email"),
        FieldSpec("purpose", True, "marketing, service...", "marketing"),
        FieldSpec("status", True, "granted or withdrawn", "granted"),
        FieldSpec("at", False, f"When it was given: {_DATES} (default: now)", "2010-03-01"),
        FieldSpec("source", False, "Where it was collected", "web form"),
    ),
    "posts": (
        FieldSpec("platform", True, "weibo, wechat, forum, taobao, jd...", "weibo"),
        FieldSpec(
            "external_id", True, "The platform's id of the post (upsert key with platform)", "M1"
        ),
        FieldSpec("kind", False, "post or comment (default: comment when parent_id is set)", ""),
        FieldSpec("parent_id", False, "external_id of the post a comment answers", ""),
        FieldSpec("author_handle", True, "Author's name on the platform", "小王爱吃"),
        FieldSpec("author_id", False, "Platform user id (Weibo uid, WeChat openid)", "5012345"),
        FieldSpec("author_followers", False, "Followers; blank = unknown (not 0)", "1.2万"),
        FieldSpec("reposts", False, "Reposts/shares; blank = unknown", "35"),
        FieldSpec("comments", False, "Comments; blank = unknown", "12"),
        FieldSpec("likes", False, "Likes; blank = unknown", "80"),
        FieldSpec("posted_at", True, f"When it was posted: {_DATES}", "2026-11-20 09:30:00"),
        FieldSpec("url", False, "Link to the post (http/https)", "https://weibo.com/..."),
        FieldSpec("text", False, "What was said", "冰箱门关不严"),
        FieldSpec("product_sku", False, "SKU of the product it is about", ""),
        FieldSpec("topic", False, "Topic or hashtag, when there is no SKU", ""),
        FieldSpec("customer_id", False, "Customer's external id, when the export knows it", ""),
    ),
}

#: The kinds of file kehu imports.
KINDS: tuple[str, ...] = tuple(_SPECS)

# Other names a column often has in exports (compared after normalisation, see `normalise_name`).
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "customers": {
        "external_id": (
            "customer_id",
            "customer",
            "id",
            "customer_no",
            "customer_number",
            "客户编号",
            "客户id",
            "会员号",
            "会员编号",
        ),
        "email": ("e_mail", "email_address", "mail", "邮箱", "电子邮箱", "电子邮件"),
        "phone": (
            "mobile",
            "telephone",
            "tel",
            "phone_number",
            "手机",
            "电话",
            "手机号",
            "手机号码",
            "联系电话",
        ),
        "name": ("full_name", "customer_name", "姓名", "名字", "客户名称", "名称"),
        "country": ("国家", "国家地区"),
        "city": ("城市",),
        "birthday": ("date_of_birth", "dob", "birth_date", "生日", "出生日期"),
        "notes": ("备注",),
        "wechat_openid": ("openid",),
        "wechat_unionid": ("unionid",),
    },
    "products": {
        "sku": ("stock_code", "stockcode", "product_id", "item_id", "商品编码", "商品编号", "货号"),
        "name": ("description", "product_name", "title", "商品名称", "品名"),
        "category": ("类目", "品类", "分类"),
        "price": ("unit_price", "list_price", "价格", "单价"),
    },
    "orders": {
        "order_id": (
            "invoice",
            "invoice_no",
            "invoiceno",
            "order",
            "order_no",
            "order_number",
            "订单号",
            "订单编号",
        ),
        "customer_id": ("customer", "customer_no", "customerid", "客户编号", "客户id", "会员号"),
        "ordered_at": (
            "invoice_date",
            "invoicedate",
            "order_date",
            "date",
            "created_at",
            "下单时间",
            "订单时间",
            "下单日期",
            "日期",
        ),
        "sku": ("stock_code", "stockcode", "product_id", "item_id", "商品编码", "商品编号", "货号"),
        "description": ("product_name", "item_name", "name", "商品名称", "品名"),
        "quantity": ("qty", "数量"),
        "unit_price": ("price", "unitprice", "单价"),
        "discount": ("折扣", "优惠"),
        "channel": ("渠道",),
        "currency": ("币种",),
        "country": ("国家", "国家地区"),
        "line_no": ("line", "line_number", "行号"),
    },
    "interactions": {
        "occurred_at": ("date", "at", "timestamp", "time"),
        "customer_id": ("customer",),
    },
    "consents": {"customer_id": ("customer",), "at": ("date", "given_at", "timestamp")},
    "posts": {
        "platform": ("source", "site", "平台", "来源"),
        "external_id": ("post_id", "mid", "id", "微博id", "帖子id", "评论id"),
        "parent_id": ("parent", "parent_post_id", "reply_to", "root_id", "父id"),
        "author_handle": ("author", "user", "screen_name", "nickname", "用户名", "昵称", "作者"),
        "author_id": ("uid", "user_id", "openid", "用户id"),
        "author_followers": ("followers", "followers_count", "fans", "粉丝数", "粉丝"),
        "reposts": ("reposts_count", "shares", "retweets", "转发", "转发数"),
        "comments": ("comments_count", "replies", "评论", "评论数"),
        "likes": ("attitudes_count", "like_count", "点赞", "点赞数"),
        "posted_at": ("created_at", "date", "time", "timestamp", "发布时间", "时间"),
        "url": ("link", "链接"),
        "text": ("content", "body", "review", "正文", "内容", "评论内容"),
        "product_sku": ("sku", "商品编码", "货号"),
        "topic": ("hashtag", "话题"),
    },
}


def normalise_name(name: str) -> str:
    """Return a column name folded for matching: lower case, separators removed."""
    return re.sub(r"[\s_\-./]+", "", name.strip().lower())


def check_kind(kind: str) -> tuple[FieldSpec, ...]:
    """Return the fields of ``kind`` or raise :class:`InvalidInputError` naming the kinds."""
    try:
        return _SPECS[kind]
    except KeyError:
        raise InvalidInputError(
            f"Unknown import kind {kind!r}; use one of {', '.join(KINDS)}.",
            code="ingest.unknown_kind",
        ) from None


def describe_kind(kind: str) -> list[FieldSpec]:
    """Return the fields a file of this kind may have, required ones flagged.

    Raises
    ------
    InvalidInputError
        For an unknown kind.
    """
    return list(check_kind(kind))


def template_csv(kind: str) -> str:
    """Return a CSV template for ``kind``: the header row and one example row."""
    specs = check_kind(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([spec.name for spec in specs])
    writer.writerow([spec.example for spec in specs])
    return buffer.getvalue()
