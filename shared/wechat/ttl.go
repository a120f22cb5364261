package wechat

import "time"

// ttl is how long a token with expires_in seconds is kept: five minutes short of its life, as the
// SDK's stable handle does, so that no instance uses a token WeChat is about to renew.
func ttl(expiresIn int64) time.Duration {
	d := time.Duration(expiresIn-300) * time.Second
	if d < time.Minute {
		d = time.Minute
	}
	return d
}
