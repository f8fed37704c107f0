module h1srv
go 1.26
