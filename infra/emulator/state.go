package emulator

import (
	"time"
)

// Lifetimes and limits of api.weixin.qq.com credentials (reference §1–2).
const (
	tokenTTL          = 7200 * time.Second // access_token expires_in
	tokenGrace        = 5 * time.Minute    // an ordinary token keeps working this long after a newer one is issued
	stableRenewWindow = 5 * time.Minute    // normal-mode stable_token renews this close to expiry
	forceRefreshGap   = 30 * time.Second   // stable_token force_refresh at most this often…
	forceRefreshDaily = 20                 // …and this many times a day
	codeTTL           = 5 * time.Minute    // wx.login and phone codes
	// keepExpired is how long an expired token or code is remembered, so that it is reported as
	// expired (42001) rather than unknown; afterwards it is forgotten to bound memory.
	keepExpired = 24 * time.Hour
	sweepEvery  = time.Minute
)

// wxState is the api.weixin.qq.com side of the emulator. Every method expects Emulator.mu held.
type wxState struct {
	tokens     map[string]*accessToken // every issued token, ordinary and stable
	latest     map[string]string       // appid → newest ordinary token
	stable     map[string]*stableState // appid → stable token bookkeeping
	codes      map[string]*loginCode
	phoneCodes map[string]*phoneCode
	users      map[userKey]*user
	lastSweep  time.Time
}

func newWXState() wxState {
	return wxState{
		tokens:     map[string]*accessToken{},
		latest:     map[string]string{},
		stable:     map[string]*stableState{},
		codes:      map[string]*loginCode{},
		phoneCodes: map[string]*phoneCode{},
		users:      map[userKey]*user{},
	}
}

type accessToken struct {
	appid     string
	expiresAt time.Time
	// revokedAt is when a superseded token stops working (zero while it is current).
	revokedAt time.Time
}

type stableState struct {
	current string
	forced  []time.Time // force_refresh calls within the last day
}

type userKey struct{ appid, openid string }

type user struct {
	unionid    string
	sessionKey string // the newest one: the only one checksession and encryptedData accept
}

type loginCode struct {
	appid, openid, unionid, sessionKey string
	expiresAt                          time.Time
	used                               bool
}

type phoneCode struct {
	appid                                 string
	phoneNumber, purePhoneNumber, country string
	expiresAt                             time.Time
	used                                  bool
}

// sweep forgets credentials that expired long ago; it runs at most once a minute of emulator time.
func (s *wxState) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < sweepEvery {
		return
	}
	s.lastSweep = now
	old := now.Add(-keepExpired)
	for k, t := range s.tokens {
		end := t.expiresAt
		if !t.revokedAt.IsZero() && t.revokedAt.Before(end) {
			end = t.revokedAt
		}
		if end.Before(old) {
			delete(s.tokens, k)
		}
	}
	for k, c := range s.codes {
		if c.expiresAt.Before(old) {
			delete(s.codes, k)
		}
	}
	for k, c := range s.phoneCodes {
		if c.expiresAt.Before(old) {
			delete(s.phoneCodes, k)
		}
	}
}

// issueToken issues a new ordinary token for appid. The previous newest one keeps working for
// tokenGrace more, as WeChat does, so in-flight calls of another instance do not break at once.
func (s *wxState) issueToken(appid string, now time.Time) string {
	s.sweep(now)
	if prev := s.tokens[s.latest[appid]]; prev != nil {
		end := now.Add(tokenGrace)
		if prev.revokedAt.IsZero() || end.Before(prev.revokedAt) {
			prev.revokedAt = end
		}
	}
	tok := newAccessToken()
	s.tokens[tok] = &accessToken{appid: appid, expiresAt: now.Add(tokenTTL)}
	s.latest[appid] = tok
	return tok
}

// stableToken answers stable_token for appid: the current token while it has more than
// stableRenewWindow left, a new one otherwise. force issues a new one and revokes the previous at
// once, within the force-refresh limits.
func (s *wxState) stableToken(appid string, force bool, now time.Time) (string, time.Duration, *wxError) {
	s.sweep(now)
	st := s.stable[appid]
	if st == nil {
		st = &stableState{}
		s.stable[appid] = st
	}
	cur := s.tokens[st.current]
	if !force && cur != nil && cur.usable(now) && cur.expiresAt.Sub(now) > stableRenewWindow {
		return st.current, cur.expiresAt.Sub(now), nil
	}
	if force {
		kept := st.forced[:0]
		for _, t := range st.forced {
			if now.Sub(t) < 24*time.Hour {
				kept = append(kept, t)
			}
		}
		st.forced = kept
		if n := len(st.forced); n > 0 && now.Sub(st.forced[n-1]) < forceRefreshGap {
			return "", 0, &wxError{code: ErrcodeRateLimit, msg: "force_refresh too frequent, wait 30 seconds"}
		}
		if len(st.forced) >= forceRefreshDaily {
			return "", 0, wxErr(ErrcodeDailyQuota)
		}
		st.forced = append(st.forced, now)
		if cur != nil && (cur.revokedAt.IsZero() || now.Before(cur.revokedAt)) {
			cur.revokedAt = now
		}
	}
	tok := newAccessToken()
	s.tokens[tok] = &accessToken{appid: appid, expiresAt: now.Add(tokenTTL)}
	st.current = tok
	return tok, tokenTTL, nil
}

func (t *accessToken) usable(now time.Time) bool {
	return now.Before(t.expiresAt) && (t.revokedAt.IsZero() || now.Before(t.revokedAt))
}

// checkToken returns the app an access_token belongs to: 41001 when it is missing, 42001 when it
// ran out its own lifetime, 40001 when it is unknown or was superseded.
func (s *wxState) checkToken(tok string, now time.Time) (string, *wxError) {
	if tok == "" {
		return "", wxErr(ErrcodeMissingToken)
	}
	t := s.tokens[tok]
	switch {
	case t == nil:
		return "", wxErr(ErrcodeInvalidCredential)
	case !t.revokedAt.IsZero() && !now.Before(t.revokedAt):
		return "", wxErr(ErrcodeInvalidCredential)
	case !now.Before(t.expiresAt):
		return "", wxErr(ErrcodeTokenExpired)
	}
	return t.appid, nil
}

// mintCode registers a wx.login code. The caller has validated the request.
func (s *wxState) mintCode(appid string, req CodeRequest, now time.Time) CodeResponse {
	s.sweep(now)
	openid := req.OpenID
	if openid == "" {
		openid = newOpenID()
	}
	k := userKey{appid, openid}
	u := s.users[k]
	if u == nil {
		u = &user{}
		switch {
		case req.UnionID == nil:
			u.unionid = newUnionID()
		default:
			u.unionid = *req.UnionID
		}
		s.users[k] = u
	}
	// A new login may rotate the session_key; the emulator always does (unless told the key), which
	// is the harshest case for code that keeps an old key.
	u.sessionKey = req.SessionKey
	if u.sessionKey == "" {
		u.sessionKey = newSessionKey()
	}
	code := newLoginCode()
	s.codes[code] = &loginCode{appid: appid, openid: openid, unionid: u.unionid, sessionKey: u.sessionKey, expiresAt: now.Add(codeTTL)}
	return CodeResponse{Code: code, AppID: appid, OpenID: openid, UnionID: u.unionid, SessionKey: u.sessionKey, ExpiresIn: int(codeTTL / time.Second)}
}

// exchangeCode consumes a wx.login code for appid.
func (s *wxState) exchangeCode(appid, code string, now time.Time) (*loginCode, *wxError) {
	c := s.codes[code]
	if c == nil || c.appid != appid || c.used || !now.Before(c.expiresAt) {
		return nil, wxErr(ErrcodeInvalidCode)
	}
	c.used = true
	return c, nil
}

// exchangePhoneCode consumes a phone code for appid.
func (s *wxState) exchangePhoneCode(appid, code string, now time.Time) (*phoneCode, *wxError) {
	c := s.phoneCodes[code]
	if c == nil || c.appid != appid || c.used || !now.Before(c.expiresAt) {
		return nil, wxErr(ErrcodeInvalidCode)
	}
	c.used = true
	return c, nil
}
