// Command login starts the login function under whichever runtime its environment names.
package main

func main() {}
