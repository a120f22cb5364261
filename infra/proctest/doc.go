// Package proctest runs a real, production-built wxfn function binary as a child process under
// each runtime protocol it speaks, so that tests and benchmarks exercise exactly what ships:
//
//   - AWS Lambda: an in-process fake of the Lambda Runtime API (AWSRuntime) that the binary polls
//     through AWS_LAMBDA_RUNTIME_API, with the real paths, headers and status codes;
//   - Tencent SCF event functions: the binary serves scf-go-lib's net/rpc service on
//     _LAMBDA_SERVER_PORT and SCFRuntime calls Function.Ping and Function.Invoke as the platform does;
//   - plain HTTP: the binary listens on $PORT and HTTPServer exposes its base URL.
//
// Build compiles a package with the production flags (CGO_ENABLED=0, -trimpath, -ldflags=-s -w,
// -tags lambda.norpc). The Start* functions take a context and Options and suit programs such as
// the cold-start benchmark; AWS, SCF and HTTP wrap them for tests: they send the child's output
// to t.Log, fail the test with a clear error, and stop the process when the test ends.
//
// Every wait is bounded (DefaultTimeout unless the caller's context says otherwise), so a binary
// that never becomes ready or never answers fails the test instead of hanging it.
package proctest
