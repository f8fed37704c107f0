package main

import "github.com/spf13/cobra"

func newApplianceCmd() *cobra.Command { return &cobra.Command{Use: "appliance"} }
func newQueryCmd() *cobra.Command     { return &cobra.Command{Use: "query"} }
