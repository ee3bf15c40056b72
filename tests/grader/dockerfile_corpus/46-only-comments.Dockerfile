# nothing but comments

   # and an indented one
