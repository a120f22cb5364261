package login

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/wxfn/wxfn/shared/fn"
	"github.com/wxfn/wxfn/shared/logging"
)

// phoneResponse is the answer of POST /phone.
type phoneResponse struct {
	PhoneNumber     string `json:"phoneNumber"`
	PurePhoneNumber string `json:"purePhoneNumber"`
	CountryCode     string `json:"countryCode"`
}

func (h *handler) phone(ctx context.Context, req *fn.Request) (*fn.Response, error) {
	code, err := decodeCode(req)
	if err != nil {
		return nil, err
	}
	mp, err := h.deps.MiniProgram()
	if err != nil {
		return nil, err
	}
	users, err := h.users(ctx)
	if err != nil {
		return nil, err
	}
	// The user must still exist before the single-use code is spent.
	if _, err := users.get(ctx, req.Principal.OpenID); err != nil {
		return nil, err
	}
	p, err := mp.PhoneNumber(ctx, code)
	if err != nil {
		return nil, wechatError(err)
	}
	if p.WatermarkAppID != "" && p.WatermarkAppID != mp.AppID() {
		return nil, &fn.Error{Status: http.StatusBadGateway, Code: "watermark_mismatch", Message: "the phone number was issued to another app"}
	}
	if err := users.setPhone(ctx, req.Principal.OpenID, p, h.now()); err != nil {
		return nil, err
	}
	slog.InfoContext(ctx, "phone number saved", "openid", req.Principal.OpenID, "phone", logging.MaskPhone(p.PurePhoneNumber))
	return fn.OK(phoneResponse{PhoneNumber: p.PhoneNumber, PurePhoneNumber: p.PurePhoneNumber, CountryCode: p.CountryCode})
}
