package main

import (
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/wxfn/wxfn/infra/devstack"
)

// banner is what a new user follows: every URL, then a walk-through that works by copy-paste
// with nothing but curl and sed.
var banner = template.Must(template.New("banner").Parse(`
wxfn local stack is up ({{.Took}})

  gateway    {{.URL}}/
{{- range .Functions}}
  function   {{printf "%-11s" .}} {{$.URL}}/{{.}}/
{{- end}}
  emulator   {{.URL}}/_emu/          (acts as api.weixin.qq.com; control API under /_emu/)
  mongodb    {{.Mongo}}  database {{.DB}}
  data       {{.Data}}/   settings for make invoke: {{.EnvFile}}
  admin key  {{.Admin}}   (sandbox only)

Walk-through (copy-paste into another terminal):

  U={{.URL}}
  # 1. Be WeChat: mint a login code, as wx.login() hands one to the mini-program.
  CODE=$(curl -s -X POST $U/_emu/wx/codes -d '{}' | sed -E 's/.*"code":"([^"]+)".*/\1/')
  # 2. Be the mini-program: log in with it.
  LOGIN=$(curl -s -X POST $U/login/ -H 'content-type: application/json' -d "{\"code\":\"$CODE\"}"); echo "$LOGIN"
  TOKEN=$(echo "$LOGIN" | sed -E 's/.*"token":"([^"]+)".*/\1/'); OPENID=$(echo "$LOGIN" | sed -E 's/.*"openid":"([^"]+)".*/\1/')
  # 3. The same code again is refused (codes are single-use): 401 invalid_code.
  curl -s -X POST $U/login/ -H 'content-type: application/json' -d "{\"code\":\"$CODE\"}"; echo
  # 4. Phone number: the emulator mints the getPhoneNumber button's code.
  PCODE=$(curl -s -X POST $U/_emu/wx/phone-codes -d '{"phoneNumber":"13800138000"}' | sed -E 's/.*"code":"([^"]+)".*/\1/')
  curl -s -X POST $U/login/phone -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "{\"code\":\"$PCODE\"}"; echo
  # 5. encryptedData: the emulator encrypts with the user's session_key, the function decrypts it.
  ENC=$(curl -s -X POST $U/_emu/wx/encrypt -d "{\"openid\":\"$OPENID\",\"data\":{\"nickName\":\"Ada\"}}")
  curl -s -X POST $U/login/decrypt -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$ENC"; echo
  # 6. Make WeChat busy for the next call and see the retryable 503.
  curl -s -X POST $U/_emu/faults -d '{"path":"/sns/jscode2session","count":1,"errcode":-1}'; echo
  CODE=$(curl -s -X POST $U/_emu/wx/codes -d '{}' | sed -E 's/.*"code":"([^"]+)".*/\1/')
  curl -s -X POST $U/login/ -H 'content-type: application/json' -d "{\"code\":\"$CODE\"}"; echo
  # 7. Pay: order (prices come from the products collection), pay as WeChat, see PAID.
  ORDER=$(curl -s -X POST $U/payorder/ -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"items":[{"sku":"tea-oolong-250g","qty":2},{"sku":"vip-month","qty":1}]}'); echo "$ORDER"
  NO=$(echo "$ORDER" | sed -E 's/.*"outTradeNo":"([^"]+)".*/\1/')
  curl -s -X POST $U/_emu/pay/orders/$NO/pay; echo
  curl -s $U/payorder/$NO -H "authorization: Bearer $TOKEN"; echo
  # 8. Refund (admin), settle as WeChat, see REFUNDED; then reconcile today's bill.
  A='authorization: Bearer {{.Admin}}'
  RNO=$(curl -s -X POST $U/refund/ -H "$A" -H 'content-type: application/json' -d "{\"outTradeNo\":\"$NO\"}" | sed -E 's/.*"outRefundNo":"([^"]+)".*/\1/')
  curl -s -X POST $U/_emu/pay/refunds/$RNO/settle -d '{"status":"SUCCESS"}'; echo
  curl -s $U/refund/$RNO -H "$A"; echo
  curl -s -X POST $U/reconcile/ -H "$A" -H 'content-type: application/json' -d "{\"date\":\"$(TZ=Asia/Shanghai date +%F)\"}"; echo

  Run one function on a sample event:  make invoke FN=login EVENT=events/login/aws-url-login.json
  Stop with Ctrl-C; data stays in {{.Data}}/ (delete it to start afresh).
`))

func printBanner(s *devstack.Stack, envFile string, took time.Duration) {
	data := map[string]any{
		"Took":      took.Round(time.Millisecond).String(),
		"URL":       s.URL,
		"Functions": s.Functions,
		"Mongo":     strings.TrimSuffix(s.MongoURI, "/") + "/",
		"DB":        s.Env["MONGODB_DATABASE"],
		"Data":      strings.TrimSuffix(getenv("WXFN_DATA", ".wxfn"), "/"),
		"EnvFile":   envFile,
		"Admin":     s.AdminKey(),
	}
	if err := banner.Execute(os.Stdout, data); err != nil {
		fmt.Fprintln(os.Stderr, "wxfn-dev: banner:", err)
	}
}
