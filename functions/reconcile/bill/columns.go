package bill

// Detail columns, by their header names (reference §7.3).
const (
	colTradeTime            = "交易时间"
	colAppID                = "公众账号ID"
	colMchID                = "商户号"
	colSubMchID             = "特约商户号"
	colDeviceInfo           = "设备号"
	colTransactionID        = "微信订单号"
	colOutTradeNo           = "商户订单号"
	colOpenID               = "用户标识"
	colTradeType            = "交易类型"
	colTradeState           = "交易状态"
	colBankType             = "付款银行"
	colCurrency             = "货币种类"
	colSettlementTotal      = "应结订单金额"
	colCoupon               = "代金券金额"
	colRefundApplyTime      = "退款申请时间"
	colRefundSuccessTime    = "退款成功时间"
	colRefundID             = "微信退款单号"
	colOutRefundNo          = "商户退款单号"
	colRefund               = "退款金额"
	colRechargeCouponRefund = "充值券退款金额"
	colRefundType           = "退款类型"
	colRefundStatus         = "退款状态"
	colDescription          = "商品名称"
	colAttach               = "商户数据包"
	colFee                  = "手续费"
	colRate                 = "费率"
	colTotal                = "订单金额"
	colRefundRequested      = "申请退款金额"
	colRateNote             = "费率备注"
)

// Summary columns.
const (
	colCount              = "总交易单数"
	colSettlementSum      = "应结订单总金额"
	colRefundSum          = "退款总金额"
	colRechargeRefundSum  = "充值券退款总金额"
	colFeeSum             = "手续费总金额"
	colTotalSum           = "订单总金额"
	colRefundRequestedSum = "申请退款总金额"
)

// AllColumns is the detail header of the ALL bill (bill_type=ALL), in its exact order.
var AllColumns = []string{
	colTradeTime, colAppID, colMchID, colSubMchID, colDeviceInfo, colTransactionID, colOutTradeNo,
	colOpenID, colTradeType, colTradeState, colBankType, colCurrency, colSettlementTotal, colCoupon,
	colRefundID, colOutRefundNo, colRefund, colRechargeCouponRefund, colRefundType, colRefundStatus,
	colDescription, colAttach, colFee, colRate, colTotal, colRefundRequested, colRateNote,
}

// RefundColumns is the detail header of the REFUND bill: the ALL header with the refund's
// application and success times after 代金券金额.
var RefundColumns = []string{
	colTradeTime, colAppID, colMchID, colSubMchID, colDeviceInfo, colTransactionID, colOutTradeNo,
	colOpenID, colTradeType, colTradeState, colBankType, colCurrency, colSettlementTotal, colCoupon,
	colRefundApplyTime, colRefundSuccessTime,
	colRefundID, colOutRefundNo, colRefund, colRechargeCouponRefund, colRefundType, colRefundStatus,
	colDescription, colAttach, colFee, colRate, colTotal, colRefundRequested, colRateNote,
}

// SuccessColumns is the detail header of the SUCCESS bill (payments only).
var SuccessColumns = []string{
	colTradeTime, colAppID, colMchID, colSubMchID, colDeviceInfo, colTransactionID, colOutTradeNo,
	colOpenID, colTradeType, colTradeState, colBankType, colCurrency, colSettlementTotal, colCoupon,
	colDescription, colAttach, colFee, colRate, colTotal, colRateNote,
}

// SummaryColumns is the summary header, shared by every layout.
var SummaryColumns = []string{
	colCount, colSettlementSum, colRefundSum, colRechargeRefundSum, colFeeSum, colTotalSum, colRefundRequestedSum,
}

// field identifies a Row field.
type field uint8

const (
	fieldUnknown field = iota
	fieldTradeTime
	fieldAppID
	fieldMchID
	fieldSubMchID
	fieldDeviceInfo
	fieldTransactionID
	fieldOutTradeNo
	fieldOpenID
	fieldTradeType
	fieldTradeState
	fieldBankType
	fieldCurrency
	fieldSettlementTotal
	fieldCoupon
	fieldRefundApplyTime
	fieldRefundSuccessTime
	fieldRefundID
	fieldOutRefundNo
	fieldRefund
	fieldRechargeCouponRefund
	fieldRefundType
	fieldRefundStatus
	fieldDescription
	fieldAttach
	fieldFee
	fieldRate
	fieldTotal
	fieldRefundRequested
	fieldRateNote
	fieldCount
)

// fieldNames[f] is field f's column name.
var fieldNames = [fieldCount]string{
	fieldUnknown:              "",
	fieldTradeTime:            colTradeTime,
	fieldAppID:                colAppID,
	fieldMchID:                colMchID,
	fieldSubMchID:             colSubMchID,
	fieldDeviceInfo:           colDeviceInfo,
	fieldTransactionID:        colTransactionID,
	fieldOutTradeNo:           colOutTradeNo,
	fieldOpenID:               colOpenID,
	fieldTradeType:            colTradeType,
	fieldTradeState:           colTradeState,
	fieldBankType:             colBankType,
	fieldCurrency:             colCurrency,
	fieldSettlementTotal:      colSettlementTotal,
	fieldCoupon:               colCoupon,
	fieldRefundApplyTime:      colRefundApplyTime,
	fieldRefundSuccessTime:    colRefundSuccessTime,
	fieldRefundID:             colRefundID,
	fieldOutRefundNo:          colOutRefundNo,
	fieldRefund:               colRefund,
	fieldRechargeCouponRefund: colRechargeCouponRefund,
	fieldRefundType:           colRefundType,
	fieldRefundStatus:         colRefundStatus,
	fieldDescription:          colDescription,
	fieldAttach:               colAttach,
	fieldFee:                  colFee,
	fieldRate:                 colRate,
	fieldTotal:                colTotal,
	fieldRefundRequested:      colRefundRequested,
	fieldRateNote:             colRateNote,
}

// detailFields maps a column name to its field.
var detailFields = func() map[string]field {
	m := make(map[string]field, fieldCount)
	for f := fieldUnknown + 1; f < fieldCount; f++ {
		m[fieldNames[f]] = f
	}
	return m
}()

// requiredFields are the columns every trade-bill layout has and reconciliation needs.
var requiredFields = []field{fieldTradeTime, fieldTransactionID, fieldOutTradeNo, fieldTradeState, fieldTotal}

type sumField uint8

const (
	sumUnknown sumField = iota
	sumCount
	sumSettlement
	sumRefund
	sumRechargeRefund
	sumFee
	sumTotal
	sumRefundRequested
)

var summaryFields = map[string]sumField{
	colCount:              sumCount,
	colSettlementSum:      sumSettlement,
	colRefundSum:          sumRefund,
	colRechargeRefundSum:  sumRechargeRefund,
	colFeeSum:             sumFee,
	colTotalSum:           sumTotal,
	colRefundRequestedSum: sumRefundRequested,
}
