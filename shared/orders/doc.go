// Package orders keeps the books of WeChat Pay: the product catalogue, the orders, the refund
// ledger and the log of every payment notification, with the only functions allowed to move
// money state. payorder, paynotify, refund and reconcile all go through it, so a payment applied
// by a notification, by a query that repairs a missed notification, or by reconciliation is the
// same transition with the same checks.
//
// # Collections (DESIGN §5)
//
//	products   {_id: sku, name, price (fen), active, kind: physical|virtual}
//	orders     {_id: outTradeNo, openid, items, amount, state, prepay…, transactionId, paidAt,
//	            refunded, refunding, refundable, refundHolds, refundsSettled, flagged, flags, …}
//	refunds    {_id: outRefundNo, outTradeNo, amount, state, refundId, …}
//	pay_events {_id: notification id, eventType, outcome, …}
//
// # States only move forward (DESIGN §6)
//
//	order:  CREATED → PAID → PARTIALLY_REFUNDED → REFUNDED
//	        CREATED → CLOSED
//	refund: PENDING → PROCESSING → SUCCESS | CLOSED | ABNORMAL;  ABNORMAL → SUCCESS | CLOSED
//	        PENDING → FAILED (WeChat Pay refused it; it never existed there)
//	        PENDING → SUCCESS | CLOSED | ABNORMAL (a result may arrive before our record of acceptance)
//
// FerretDB has no transactions, so every transition is ONE conditional update of one document
// (updateOne({_id, state: {$in: allowed}, …})): whoever's update matches has made the transition,
// and everybody else learns that it had already happened. Because FerretDB v1 does not make even
// that update atomic (lock.go), every write to an order or its refunds also holds a short lock
// on the order, taken with a unique insert into order_locks. Where a change spans two documents (a
// refund and its order) the second step is idempotent on its own (guarded by the refund's number
// in the order's refundHolds/refundsSettled lists) and is re-run by every later attempt, so a
// crash between the two steps is completed by the next delivery of the same notification.
//
// # Money on an order
//
// Every amount is in fen. Once paid:
//
//	amount = refundable + refunding + refunded
//
// refundable is kept as a field (rather than computed with $expr, which FerretDB lacks) so that a
// refund reserves its amount with one conditional update, {refundable: {$gte: amount}} plus
// {$inc: {refundable: -amount, refunding: +amount}}: concurrent refunds can never exceed what was
// paid. A SUCCESS moves the amount from refunding to refunded; CLOSED and FAILED give it back to
// refundable; ABNORMAL keeps it held, because WeChat Pay still owes that money to the user and an
// operator resolves it into SUCCESS or CLOSED.
//
// Anything that does not add up (an amount, appid or mchid that is not the order's, a payment
// for a closed order, a refund we never asked for) is recorded as a flag on the order with a
// reason, never applied.
package orders

// Collection names.
const (
	ProductsCollection = "products"
	OrdersCollection   = "orders"
	RefundsCollection  = "refunds"
	EventsCollection   = "pay_events"
)
