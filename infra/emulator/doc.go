// Package emulator is a faithful, in-memory stand-in for the WeChat hosts wxfn's functions call,
// so that the whole stack runs and is tested offline. It speaks the real request and response
// formats, answers business errors as WeChat does (HTTP 200, {"errcode","errmsg"} with a
// " rid: …" suffix), keeps the real lifetimes (tokens 7200 s with a 5-minute grace after rotation,
// single-use codes valid 5 minutes) and uses the real cryptography, so the unchanged
// silenceper/wechat SDK and hand-written clients work against it.
//
// One Emulator is one http.Handler for every path under /_emu/ (mount it there without stripping
// the prefix). Hosts:
//
//	/_emu/wx/...   api.weixin.qq.com   (WX_API_BASE=http://HOST/_emu/wx)
//
// Emulated api.weixin.qq.com APIs: GET /cgi-bin/token, POST /cgi-bin/stable_token,
// GET /sns/jscode2session, POST /wxa/business/getuserphonenumber, GET /wxa/checksession.
// Semantics follow the platform: every /cgi-bin/token call issues a new token and leaves the
// previous one 5 minutes; /cgi-bin/stable_token returns the same token (expires_in = time left)
// until 5 minutes before expiry, and force_refresh (at most every 30 s, 20 a day) replaces it and
// kills the old one at once; a wx.login or phone code is single-use, valid 5 minutes, for its own
// app only (40029 otherwise); a new login code rotates the user's session_key; APIs that take
// access_token answer 41001 (missing), 40001 (unknown or superseded) or 42001 (expired).
//
// The control API (JSON; errors as {"error":{"code","message"}} with a 4xx) lets a developer or a
// test act as WeChat:
//
//	POST   /_emu/wx/codes        {appid?, openid?, unionid?, sessionKey?} → {code, openid, unionid, sessionKey, …}
//	POST   /_emu/wx/phone-codes  {phoneNumber, countryCode?, appid?}      → {code, phoneNumber, purePhoneNumber, countryCode, …}
//	POST   /_emu/wx/encrypt      {openid, data, appid?, watermarkAppid?, timestamp?} → {encryptedData, iv}
//	GET    /_emu/wx/calls        calls per api.weixin.qq.com path (DELETE zeroes the counts)
//	POST   /_emu/faults          {path, count?, errcode?, httpStatus?, errmsg?}: fail the next count calls to path
//	GET    /_emu/faults          pending faults; DELETE clears them
//	GET    /_emu/calls           calls per full path, every host
//	POST   /_emu/reset           forget every token, code, user, fault and count
//	GET    /_emu/                this list and the registered appids
//
// For example, against `make dev`:
//
//	curl -s -XPOST localhost:8080/_emu/wx/codes
//	curl -s -XPOST localhost:8080/_emu/faults -d '{"path":"/sns/jscode2session","errcode":-1,"count":2}'
//
// Tests in Go can use the same operations directly: MintCode, MintPhoneCode, Encrypt,
// InjectFault, Calls, Reset.
package emulator
