package emulator

import (
	"net/http"
	"strings"
)

// Fault makes the next Count calls to Path fail, whatever their parameters, before the emulator
// looks at them (so a faulted call consumes no code and issues no token).
//
// Path is the full emulator path ("/_emu/wx/sns/jscode2session"); a path not under Prefix is
// taken relative to api.weixin.qq.com ("/sns/jscode2session" means the same), except that a path
// starting with /v3/ is WeChat Pay's ("/v3/refund/domestic/refunds" means
// "/_emu/pay/v3/refund/domestic/refunds"). Paths with parameters are matched literally
// ("/v3/pay/transactions/out-trade-no/ORD1"). For other hosts use the full path.
//
// On api.weixin.qq.com, with Errcode the call answers {"errcode":Errcode,"errmsg":Errmsg+" rid: …"}
// with HTTP 200 (or HTTPStatus when set); Errmsg defaults to WeChat's own message for the code. With
// only HTTPStatus it answers that bare status.
//
// On api.mch.weixin.qq.com (WeChat Pay) a fault takes Code instead of Errcode and answers
// {"code":Code,"message":Errmsg} with HTTPStatus; either may be left out and follows from the
// other as WeChat Pay pairs them (SYSTEM_ERROR 500, FREQUENCY_LIMITED 429, NOT_ENOUGH 403,
// STATEMENT_CREATING 400…; 5xx → SYSTEM_ERROR).
type Fault struct {
	Path       string `json:"path"`
	Count      int    `json:"count"`
	Errcode    int    `json:"errcode,omitempty"`
	Code       string `json:"code,omitempty"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
	Errmsg     string `json:"errmsg,omitempty"`
}

// hostPath resolves a path given relative to a host to the full emulator path: /v3/… is WeChat
// Pay's, anything else not under Prefix is api.weixin.qq.com's.
func hostPath(p string) string {
	switch {
	case strings.HasPrefix(p, Prefix+"/"):
		return p
	case strings.HasPrefix(p, "/v3/"):
		return PayPrefix + p
	default:
		return WXPrefix + p
	}
}

// faultQueue holds pending faults in the order they were injected. Guarded by Emulator.mu.
type faultQueue struct {
	pending []*Fault
}

// take consumes one call of the oldest pending fault for path.
func (q *faultQueue) take(path string) (Fault, bool) {
	for i, f := range q.pending {
		if f.Path != path {
			continue
		}
		out := *f
		f.Count--
		if f.Count == 0 {
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
		}
		return out, true
	}
	return Fault{}, false
}

// InjectFault queues f (see Fault). Count defaults to 1. It fails with a *ControlError, changing
// nothing, when the path is not an emulated host's or the fault says neither what errcode nor what
// status to answer.
func (e *Emulator) InjectFault(f Fault) error {
	p := f.Path
	if p == "" || !strings.HasPrefix(p, "/") {
		return badRequest("path must be an absolute path such as /sns/jscode2session or " + WXPrefix + "/sns/jscode2session")
	}
	p = strings.TrimRight(hostPath(p), "/")
	h := e.hostOf(p)
	if h == nil {
		return badRequest("path " + f.Path + " is not under an emulated host (such as " + WXPrefix + "/)")
	}
	if f.Count < 0 {
		return badRequest("count must be positive")
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if h.prefix == PayPrefix {
		if f.Errcode != 0 {
			return badRequest("WeChat Pay answers {code, message}: give a code such as SYSTEM_ERROR, not an errcode")
		}
		if f.Code == "" && f.HTTPStatus == 0 {
			return badRequest("a WeChat Pay fault needs a code, an httpStatus, or both")
		}
	} else {
		if f.Code != "" {
			return badRequest("code is for WeChat Pay paths; api.weixin.qq.com faults take an errcode")
		}
		if f.Errcode == 0 && f.HTTPStatus == 0 {
			return badRequest("a fault needs a non-zero errcode, an httpStatus, or both")
		}
	}
	if f.HTTPStatus != 0 && (f.HTTPStatus < 400 || f.HTTPStatus > 599) {
		return badRequest("httpStatus must be an error status (400–599)")
	}
	f.Path = p
	e.mu.Lock()
	e.faults.pending = append(e.faults.pending, &f)
	e.mu.Unlock()
	e.log.Info("emulator: fault queued", "path", f.Path, "count", f.Count, "errcode", f.Errcode, "code", f.Code, "httpStatus", f.HTTPStatus)
	return nil
}

// Faults lists the pending faults, Count being the calls each has left.
func (e *Emulator) Faults() []Fault {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Fault, 0, len(e.faults.pending))
	for _, f := range e.faults.pending {
		out = append(out, *f)
	}
	return out
}

// ClearFaults drops every pending fault.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	e.faults.pending = nil
	e.mu.Unlock()
}

// faultsEndpoint is /_emu/faults: POST queues one, GET lists, DELETE clears.
func (e *Emulator) faultsEndpoint(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var f Fault
		if err := decodeControl(w, r, &f, false); err != nil {
			writeControlError(w, err)
			return
		}
		if err := e.InjectFault(f); err != nil {
			writeControlError(w, err)
			return
		}
		writeControl(w, http.StatusCreated, FaultsResponse{Faults: e.Faults()})
	case http.MethodGet:
		writeControl(w, http.StatusOK, FaultsResponse{Faults: e.Faults()})
	case http.MethodDelete:
		e.ClearFaults()
		writeControl(w, http.StatusOK, FaultsResponse{Faults: []Fault{}})
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost, http.MethodDelete)
	}
}
