package tenant

import (
	"fmt"
	"strconv"
	"strings"
)

// FormatMoney shows an amount in minor units: "$165.00" for USD, "165.00 EUR" for other
// currencies, "165.00" when the currency is unknown. Two minor digits are assumed, as
// Price.Quote does.
func FormatMoney(minor int64, currency string) string {
	sign := ""
	abs := uint64(minor)
	if minor < 0 {
		sign, abs = "-", uint64(-(minor+1))+1 // no overflow at math.MinInt64
	}
	amount := strconv.FormatUint(abs/100, 10) + fmt.Sprintf(".%02d", abs%100)
	switch currency = strings.ToUpper(strings.TrimSpace(currency)); currency {
	case "USD":
		return sign + "$" + amount
	case "":
		return sign + amount
	}
	return sign + amount + " " + currency
}
