// Command guestprog is the harness's own test job: "exit N" prints a line
// and exits with status N; "hang" never returns.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "hang" {
		fmt.Println("guestprog: hanging")
		time.Sleep(time.Hour)
	}
	if len(os.Args) != 3 || os.Args[1] != "exit" {
		fmt.Println("usage: guestprog exit N | hang")
		os.Exit(2)
	}
	code, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	wd, _ := os.Getwd()
	fmt.Printf("guestprog: exit %d in %s with GUESTPROG_ENV=%q\n", code, wd, os.Getenv("GUESTPROG_ENV"))
	os.Exit(code)
}
