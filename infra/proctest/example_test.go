package proctest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/wxfn/wxfn/infra/proctest"
)

// A process test of a function: build its binary once, then drive it under each runtime.
func Example() {
	var t testing.TB // in a test: the *testing.T
	bin := proctest.Build(t, "github.com/wxfn/wxfn/functions/login/cmd")
	env := []string{"MONGODB_URI=mongodb://127.0.0.1:27017/", "WX_API_BASE=http://127.0.0.1:9999"}

	aws := proctest.AWS(t, bin, env...)
	payload, errPayload, err := aws.Invoke(context.Background(), []byte(`{"version":"2.0","rawPath":"/"}`))
	_, _, _ = payload, errPayload, err

	scf := proctest.SCF(t, bin, env...)
	resp, err := scf.Invoke(context.Background(), []byte(`{"httpMethod":"GET","path":"/"}`))
	_, _ = resp, err

	srv := proctest.HTTP(t, bin, env...)
	_, _ = http.Get(srv.URL + "/")
}
