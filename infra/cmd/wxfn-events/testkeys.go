package main

// TEST-ONLY key material. It signs the committed sample notifications under events/paynotify so
// that they are real, verifiable WeChat Pay notifications — but nothing trusts these keys: not
// WeChat Pay, not the local stack's emulator (which generates its own), not any deployment. A
// sample signed with them is refused by every running paynotify (unknown key, and stale after
// five minutes); `wxfn-events sign` re-signs a sample with the running stack's keys.
const (
	// testPlatformKey stands in for WeChat Pay's platform private key.
	testPlatformKey = `-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCfUpT52JRyx/zJ
LqTqVDy9SgkdJauW/EfvEBOM6YxzrGiMqoOpKcKG5bZxm7sywP2hOLtBaMVjs5G8
sBWHQ1U2XExIbeGTCnxOAQklfVdNM98iL1VnuIn/s6ZSF72uqrETNikM8Rh8RcdB
VGe3pArBFdkRvu3k2/Up2/S6A2/fs6UH2pcfmZY7neCCV+Lmpi08z0LQbL1UwoZq
ZOqP82l8pbBuyH7dd8zZAKdKOts/fVQh2R6lX6A38P06jFzqqM4cG5gJkf58/Y1s
NJjWNv1BCNQZ5nqH5inqooEIKugYa6X4sgSkD9mcGJv4WnFftOI/A+0dIkqAMiXr
m2uBBs8lAgMBAAECggEACjZQI8Kg40mT165kdjuvh/+MnYBqYvtpPfbVFflrXge9
TNTqKwfo9t4XB2mwwlRR/YlGIW9uhZE/RG2x95FWjy0z24mlhZgMtzBETpGd7K4o
PYf0rLkMqWXxwX3Rk/ZPctiMIY77n42Wc8bN/hym7tDwcL2BAKQjrwrxARJS068V
fndeD7hDin6f39HRDwHZj8rDwACfc2Wh8O/jruURxkQCJTVye5mobcrEnrZy3v8S
fm+Jr0APiPIMiRPj+Cf+speHb8/Ne0bPBhcKOvj3YL0j+qvxnFssf2LbKMg7lvsx
u0tadcqin2tT9qkF5cLW8q8i7MKaCL/9nmPkfwjHKQKBgQDNKtJHrVNKpysOzzC6
XypG2olDC3uKyUKSTNbPRnZjrX0OEHHpYPIQ/ru74PYcHK/73ibx4hEGNWyC4Cs2
jDLeVHnpbi9ZtGtCtiNoS+u7ccx7BxXlXt/qHi3jsLVk2Qrlut5y+zSA6w4Y5Pq9
uBUOnvH8YjTuZtvX0HogAgNg/QKBgQDGy/ZJAwGNdQXo0LaTibqqXPOebfDRxMO3
FAsXHEjsMYBGB2ZHqUZ9b7N1I+Ho3nWuWASfElVNktZLBjVkGZGJbFuc4fixuo1t
vlYIsu4SRyMTDESsmr04QOSnHUQ4BHnUpHJd9QcjXUuS/1MsvlNolIBUSNAHaiD5
W91ObQDzSQKBgGwV6R31w/GKS/bLVGJ7DCyzqKh3fihJixbEAE7GUkyE82LbaweG
GUC20nRSOZXpzxSjnmTDsjBRKM9yBZIBHjNe0bMWZz+c+vz0M4cYqCHh+9W8j958
sv4F1CslxwpQBZutbM+qY6ifLJgU2bvlJMLFHbrWiggmjB8QJ6aBKQKJAoGAKmHJ
e/9cEWBlhiEZC5NNbIysk5Y0xUQBxcJMKv0ovtI+2q8xKw33rT5nMA4aV581z5mM
Qq2R6hvn+86zC0g4MugbD/NNJfbzt/XgObKL9vGblLAE5BeJR7juBoLCzH6HysHU
cBuRDgUR26D7hop9FcqzIUT0tN/3b7IaGGI81aECgYBIyp8GmePKCmeexHQwGpNX
JjBb9qCDTIn6ni+Nw85dwAcFwrMtV9Zz9B7mrwZUDP3W37H0WAEtqhgx7DJk8PoU
rmebp6Te/swDGF7PNsIUHhEjYn5V0fAXKEcVZfagJncEJfY6e9aefptPvnY0MbwO
lMzywdhneOGO17EBrn6/lw==
-----END PRIVATE KEY-----
`
	// testPublicKeyID is the id under which testPlatformKey's public half would be published.
	testPublicKeyID = "PUB_KEY_ID_0114000000000000000000000000000001"
	// testAPIv3Key encrypts the samples' resources.
	testAPIv3Key = "TestOnlyAPIv3Key0000000000000001"
	// testMchID and testAppID are the merchant and mini-program the samples name.
	testMchID = "1900000001"
	testAppID = "wx0e1f2a3b4c5d6e7f"
)
