"""The demo's category tree: BANKING77's 77 intents under ten parents, plus shop leaves.

Kept apart from the seeding code so tests and the CSV sample share one definition.
"""

import csv
import io

#: (code, name, department code, SLA policy code)
PARENTS = (
    ("cards", "Cards 银行卡", "service", "standard"),
    ("card_security", "Card security 卡片安全", "service", "urgent"),
    ("card_payments", "Card payments 刷卡支付", "billing", "standard"),
    ("cash", "Cash and ATMs 现金与取款机", "service", "standard"),
    ("top_up", "Top-ups 充值", "billing", "standard"),
    ("transfers", "Transfers 转账", "billing", "standard"),
    ("exchange", "Currencies and exchange 外汇", "billing", "standard"),
    ("account", "Account and identity 账户与身份", "service", "standard"),
    ("refunds", "Refunds and charges 退款与收费", "billing", "standard"),
    ("orders", "Orders and delivery 订单与配送", "logistics", "standard"),
    ("sales", "Products and offers 产品与优惠", "sales", "standard"),
)

_GROUPS = {
    "card_security": (
        "lost_or_stolen_card compromised_card card_swallowed pin_blocked lost_or_stolen_phone "
        "passcode_forgotten change_pin"
    ),
    "card_payments": (
        "card_payment_wrong_exchange_rate card_payment_fee_charged card_payment_not_recognised "
        "pending_card_payment declined_card_payment reverted_card_payment? card_acceptance "
        "contactless_not_working apple_pay_or_google_pay direct_debit_payment_not_recognised"
    ),
    "cash": (
        "pending_cash_withdrawal wrong_amount_of_cash_received declined_cash_withdrawal "
        "atm_support wrong_exchange_rate_for_cash_withdrawal cash_withdrawal_not_recognised "
        "cash_withdrawal_charge balance_not_updated_after_cheque_or_cash_deposit"
    ),
    "top_up": (
        "automatic_top_up top_up_by_bank_transfer_charge pending_top_up top_up_limits "
        "top_up_reverted topping_up_by_card verify_top_up top_up_by_cash_or_cheque top_up_failed "
        "top_up_by_card_charge"
    ),
    "transfers": (
        "cancel_transfer transfer_not_received_by_recipient declined_transfer pending_transfer "
        "transfer_timing beneficiary_not_allowed transfer_fee_charged receiving_money "
        "failed_transfer transfer_into_account balance_not_updated_after_bank_transfer"
    ),
    "exchange": (
        "exchange_rate fiat_currency_support exchange_via_app supported_cards_and_currencies "
        "exchange_charge country_support"
    ),
    "account": (
        "age_limit edit_personal_details why_verify_identity unable_to_verify_identity "
        "terminate_account verify_source_of_funds verify_my_identity"
    ),
    "refunds": (
        "extra_charge_on_statement request_refund Refund_not_showing_up transaction_charged_twice"
    ),
}
#: Leaves beyond BANKING77 (a shop's own requests), with names: code -> (parent, name).
EXTRA_LEAVES = {
    "order_not_delivered": ("orders", "Order not delivered 未收到货"),
    "delivery_late": ("orders", "Delivery late 配送延迟"),
    "wrong_item_received": ("orders", "Wrong item received 发错货"),
    "item_damaged": ("orders", "Item damaged 商品损坏"),
    "missing_parts": ("orders", "Missing parts 缺少配件"),
    "change_delivery_address": ("orders", "Change delivery address 修改地址"),
    "cancel_order": ("orders", "Cancel an order 取消订单"),
    "return_item": ("orders", "Return an item 退货"),
    "exchange_item": ("orders", "Exchange an item 换货"),
    "pickup_point": ("orders", "Pick-up point 自提点"),
    "invoice_request": ("refunds", "Invoice request 开发票"),
    "price_protection": ("refunds", "Price protection 价格保护"),
    "coupon_not_applied": ("sales", "Coupon not applied 优惠券无法使用"),
    "product_question": ("sales", "Product question 商品咨询"),
    "stock_availability": ("sales", "Stock availability 库存"),
    "warranty_claim": ("sales", "Warranty claim 保修"),
    "installation_service": ("sales", "Installation service 安装服务"),
    "membership_points": ("sales", "Membership points 会员积分"),
    "bulk_order": ("sales", "Bulk order 批量采购"),
    "complaint_about_staff": ("account", "Complaint about staff 投诉员工"),
    "privacy_request": ("account", "Privacy request 隐私请求"),
    "marketing_opt_out": ("account", "Stop marketing 退订营销"),
    "app_login_problem": ("account", "App login problem 无法登录"),
    "fraud_report": ("card_security", "Fraud report 举报欺诈"),
    "card_design": ("cards", "Card design 卡面设计"),
    "statement_request": ("refunds", "Statement request 对账单"),
}


def _parent_of(intent: str) -> str:
    for parent, members in _GROUPS.items():
        if intent in members.split():
            return parent
    return "cards"


def category_rows(intents: list[str]) -> list[dict[str, str]]:
    """Return the tree as CSV rows: parents, then BANKING77 intents, then the extra leaves."""
    rows = [
        {
            "code": code,
            "name": name,
            "parent_code": "",
            "department_code": department,
            "sla_policy_code": policy,
        }
        for code, name, department, policy in PARENTS
    ]
    for intent in intents:
        rows.append(
            {
                "code": intent,
                "name": intent.rstrip("?").replace("_", " ").capitalize(),
                "parent_code": _parent_of(intent),
                "department_code": "",
                "sla_policy_code": "",
            }
        )
    for code, (parent, name) in EXTRA_LEAVES.items():
        rows.append(
            {
                "code": code,
                "name": name,
                "parent_code": parent,
                "department_code": "",
                "sla_policy_code": "",
            }
        )
    return rows


def category_csv(intents: list[str]) -> bytes:
    """Return :func:`category_rows` as UTF-8 CSV."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=["code", "name", "parent_code", "department_code", "sla_policy_code"]
    )
    writer.writeheader()
    writer.writerows(category_rows(intents))
    return out.getvalue().encode()
