package paynotify

// answer is the body WeChat Pay reads from a notify URL (reference §4.4). Only the status decides:
// 2xx acknowledges, anything else makes WeChat Pay redeliver (15 s … 6 h, for a day).
type answer struct {
	Code    string `json:"code"`    // SUCCESS or FAIL
	Message string `json:"message"` // free text
}
