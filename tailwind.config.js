/** @type {import('tailwindcss').Config} */
module.exports = {
  // The scanner must see every class string in full: components write them
  // out, and conditional ones go through templ.KV.
  content: ['./views/**/*.templ', './views/**/*.go', './handlers/**/*.go'],
  theme: {
    extend: {
      colors: {
        brand: {
          50: '#eef2ff',
          100: '#e0e7ff',
          200: '#c7d2fe',
          300: '#a5b4fc',
          400: '#818cf8',
          500: '#6366f1',
          600: '#4f46e5',
          700: '#4338ca',
          800: '#3730a3',
          900: '#312e81',
        },
      },
    },
  },
  plugins: [require('@tailwindcss/forms')],
};
